"""Every front end is the same pipeline: each golden case (fixtures/render/) run through
render, check, the Helm 4 plugin, the KRM function, the kustomize exec plugin and Argo CD
``generate`` gives the same objects, or the same problems on the same lines.

The platform settings of a case (its ``args``) reach every front end the way a platform
sets them for all of them: the ``VAULT_EXEC_*`` environment.
"""

from __future__ import annotations

import re
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from transformer.frontends import kustomize
from transformer.frontends.check import looks_like_kubernetes
from transformer.frontends.cli import main
from transformer.frontends.krm import PATH_ANNOTATIONS
from transformer.options import CONFIG_FILE_ENV_VAR, ENV_VARS, SETTINGS
from transformer.yaml import kube
from transformer.yaml.stream import split_documents

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "render"
CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "input.yaml").exists())

#: The flag of each platform setting -> its environment variable.
FLAG_ENV = {setting.option: setting.env_var for setting in SETTINGS if setting.kind != "bool"}
FLAG_ENV["--config"] = CONFIG_FILE_ENV_VAR
ARGOCD_ENV = {
    "ARGOCD_APP_NAME": "argocd_shop",
    "ARGOCD_APP_NAMESPACE": "shop",
    "ARGOCD_APP_SOURCE_PATH": ".",
}
#: A problem line without its location: ``message (Kind/ns/name)``.
LOCATION = re.compile(r"^[^:\s]+(?::\d+:\d+)?: ")


def case_setup(case: Path) -> tuple[list[str], dict[str, str | None]]:
    """(input files, environment) of a golden case."""
    args_file = case / "args"
    args = (
        shlex.split(args_file.read_text())
        if args_file.exists()
        else ["--vault-addr", "https://vault.example:8200"]
    )
    env: dict[str, str | None] = {"VAULT_ADDR": None, **dict.fromkeys(ENV_VARS)}
    env[CONFIG_FILE_ENV_VAR] = None
    files: list[str] = []
    words = iter(args)
    for word in words:
        if word == "--skip-hooks":
            env["VAULT_EXEC_SKIP_HOOKS"] = "true"
        elif word in FLAG_ENV:
            value = next(words)
            if word == "--config":
                value = str(case / value)
            name = FLAG_ENV[word]
            env[name] = f"{env[name]},{value}" if env.get(name) else value
        else:
            files.append(word)
    return files or ["input.yaml"], env


def objects(stream: str) -> list[Any]:
    """The Kubernetes objects of a stream, List items in their place (Argo CD unpacks
    Lists), without the annotations a KRM orchestrator adds."""
    found: list[Any] = []

    def add(document: Any) -> None:
        kind = document.get("kind") if isinstance(document, dict) else None
        if isinstance(kind, str) and kind.endswith("List") and "items" in document:
            for item in document["items"]:
                add(item)
        else:
            found.append(document)

    for chunk in split_documents(stream):
        document = kube.load_document(chunk.text)
        if document is not None:
            add(document)
    for obj in found:
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        if isinstance(annotations, dict) and PATH_ANNOTATIONS[0] in annotations:
            for name in (PATH_ANNOTATIONS[0], "config.kubernetes.io/index"):
                annotations.pop(name, None)
            if not annotations:
                del metadata["annotations"]  # the harness made it for the KRM function
    return found


Outcome = tuple[int, list[Any] | None, list[str]]  # exit code, objects, stderr lines


def invoke(command: Any, args: list[str], env: dict[str, str | None], stdin: str = "") -> Result:
    return CliRunner().invoke(command, args, input=stdin, env=env, catch_exceptions=False)


def via_render(case: Path, files: list[str], env: dict[str, str | None]) -> Outcome:
    result = invoke(main, ["render", *files], env)
    return result.exit_code, objects(result.stdout), result.stderr.splitlines()


def via_helm4_plugin(case: Path, files: list[str], env: dict[str, str | None]) -> Outcome:
    """plugin.yaml's command, with the environment Helm 4 gives a plugin and the stream on
    stdin (Helm 4 hides stderr, so the lines go to the report file too)."""
    plugin = yaml.safe_load((GOLDEN.parents[1] / "plugin.yaml").read_text())
    (command,) = plugin["runtimeConfig"]["platformCommand"]
    assert command["command"] == "vault-exec"
    stream = "".join(_joined(case, files))
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.txt"
        plugin_env = {**env, "HELM_PLUGIN_NAME": "vault-exec", "VAULT_EXEC_REPORT": str(report)}
        result = invoke(main, command["args"], plugin_env, stream)
        assert report.read_text() == result.stderr
    return result.exit_code, objects(result.stdout), result.stderr.splitlines()


def via_check(case: Path, files: list[str], env: dict[str, str | None]) -> Outcome:
    result = invoke(main, ["check", *files], env)  # problems on stdout, errors on stderr
    return result.exit_code, None, result.stdout.splitlines() + result.stderr.splitlines()


def via_krm_function(case: Path, files: list[str], env: dict[str, str | None]) -> Outcome:
    items = []
    for name in files:
        for index, chunk in enumerate(split_documents((case / name).read_text())):
            document = kube.load_document(chunk.text)
            if isinstance(document, dict):
                annotations = document.setdefault("metadata", {}).setdefault("annotations", {})
                annotations[PATH_ANNOTATIONS[0]] = name
                annotations["config.kubernetes.io/index"] = str(index)
                items.append(document)
    resource_list = {
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
    }
    result = invoke(main, ["krm"], env, kube.dump_document(resource_list))
    out = kube.load_document(result.stdout) or {"items": []}  # none: exit 2 before any
    return (
        result.exit_code,
        objects(kube.dump_document({**out, "kind": "List"})),
        (result.stderr.splitlines()),
    )


def via_kustomize_plugin(case: Path, files: list[str], env: dict[str, str | None]) -> Outcome:
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "plugin-config.yaml"
        config.write_text("apiVersion: vault-exec.dev/v1alpha1\nkind: VaultExec\nspec: {}\n")
        result = invoke(kustomize.main, [str(config)], env, "".join(_joined(case, files)))
    return result.exit_code, objects(result.stdout), result.stderr.splitlines()


def via_argocd_generate(case: Path, files: list[str], env: dict[str, str | None]) -> Outcome:
    """A plain-directory Application source holding the case's input files."""
    with tempfile.TemporaryDirectory() as source, pytest.MonkeyPatch.context() as patch:
        for name in files:
            (Path(source) / name).write_text((case / name).read_text())
        patch.chdir(source)
        result = invoke(main, ["argocd", "generate"], {**env, **ARGOCD_ENV})
    return result.exit_code, objects(result.stdout), result.stderr.splitlines()


def _joined(case: Path, files: list[str]) -> list[str]:
    texts = [(case / name).read_text() for name in files]
    return [text if i == 0 else "---\n" + text for i, text in enumerate(texts)]


FRONTENDS: dict[str, Callable[[Path, list[str], dict[str, str | None]], Outcome]] = {
    "render": via_render,
    "helm4-plugin": via_helm4_plugin,
    "check": via_check,
    "krm-function": via_krm_function,
    "kustomize-plugin": via_kustomize_plugin,
    "argocd-generate": via_argocd_generate,
}


def _applies(frontend: str, case: Path, files: list[str]) -> str | None:
    """Why a front end cannot take this case as it is written, or None."""
    if frontend == "krm-function":
        try:
            for name in files:
                for chunk in split_documents((case / name).read_text()):
                    kube.load_document(chunk.text)
        except kube.YamlSyntaxError:
            return "a ResourceList is built from loaded objects: invalid YAML never reaches it"
    if frontend == "check" and not any(
        looks_like_kubernetes((case / name).read_text()) for name in files
    ):
        return "check skips YAML without a Kubernetes object (CI configs, values files)"
    if frontend == "argocd-generate" and sorted(files) != files:
        return "Argo CD reads a directory's files in name order"
    return None


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("name", CASES)
def test_every_frontend_injects_alike(
    name: str, frontend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = GOLDEN / name
    files, env = case_setup(case)
    reason = _applies(frontend, case, files)
    if reason is not None:
        pytest.skip(reason)
    monkeypatch.chdir(case)
    code, found, lines = FRONTENDS[frontend](case, files, env)
    expected_out = case / "expected.yaml"
    if expected_out.exists():
        assert (code, lines) == (0, [])
        if found is not None:
            assert found == objects(expected_out.read_text())
        return
    expected = (case / "expected.err").read_text().splitlines()
    assert code == 1
    if frontend == "krm-function":  # a ResourceList with results, its items untouched
        inputs = "".join(_joined(case, files))
        assert found == objects(inputs)
    else:
        assert found in (None, [])
    if frontend in ("render", "helm4-plugin", "check", "argocd-generate"):
        # The same stream in the same files: the very same lines.
        if frontend == "helm4-plugin":  # the stream on stdin: no file names
            expected = [LOCATION.sub("", line) for line in expected]
            lines = [LOCATION.sub("", line) for line in lines]
        assert lines == expected
    else:
        # Kustomize hands over objects, not files: each line says the same, located in
        # what this front end was given.
        assert [LOCATION.sub("", line) for line in lines] == [
            LOCATION.sub("", line) for line in expected
        ]


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_every_frontend_exits_2_on_a_bad_platform_setting(
    frontend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = GOLDEN / "deployment"
    files, env = case_setup(case)
    monkeypatch.chdir(case)
    code, found, lines = FRONTENDS[frontend](case, files, {**env, "VAULT_EXEC_AUTH_TYPE": "ldap"})
    assert code == 2
    assert not found
    assert lines[-1] == (
        "vault-exec: environment (VAULT_EXEC_*): authType: 'ldap' must be one of kubernetes, jwt"
    )
