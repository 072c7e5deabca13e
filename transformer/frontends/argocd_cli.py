"""``vault-exec argocd init|generate|discover``: the Argo CD plugin's commands (I/O shell).

argocd-cmp-server runs these in a copy of the Application's source directory, with
the Application's environment; the decisions live in :mod:`transformer.frontends.argocd`.
stdout of ``generate`` is the manifest stream Argo CD applies; stderr is shown in
the Argo CD UI when the command fails, so every failure is one clear line there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from transformer.errors import InputError, LocatedInputError, ToolError
from transformer.frontends import argocd
from transformer.options import CONFIG_FILE_ENV_VAR, load_options
from transformer.problems import Problem, has_errors

#: How deep ``discover`` looks, and at what: enough for a chart or an overlay tree.
_DISCOVER_MAX_FILES = 2000
_DISCOVER_SUFFIXES = (".yaml", ".yml", ".tpl", ".json")


def _run_tool(step: str, argv: Sequence[str], environ: Mapping[str, str], cwd: Path) -> str:
    """Run a renderer; its stderr goes straight to ours (Argo CD shows it on failure)."""
    import subprocess  # only generate/init run tools; keep the CLI's start-up small

    try:
        done = subprocess.run(  # argv built by argocd.*_argv; never a shell
            list(argv),
            cwd=cwd,
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            check=False,
        )
    except OSError as error:
        raise ToolError(
            f"cannot run {argv[0]}: {error.strerror or error} "
            f"(set {argocd.HELM_COMMAND_ENV} / {argocd.KUSTOMIZE_COMMAND_ENV} on the sidecar)"
        ) from None
    if done.returncode != 0:
        raise ToolError(f"{step} failed with exit status {done.returncode} ({argv[0]})")
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"{step} printed output that is not UTF-8") from None


def _source_label(environ: Mapping[str, str]) -> str:
    return environ.get("ARGOCD_APP_SOURCE_PATH") or "."


def _generate(environ: Mapping[str, str], cwd: Path) -> tuple[str, list[Problem]]:
    # loaded when used: `vault-exec --help` stays quick
    from transformer.pipeline import render_sources

    ctx = argocd.app_context(environ)
    platform = load_options({}, environ.get(CONFIG_FILE_ENV_VAR) or None, environ)
    options = argocd.app_options(platform, ctx)
    names = {entry.name for entry in cwd.iterdir() if entry.is_file()}
    kind = argocd.source_kind(names)
    if kind == argocd.HELM:
        helm = argocd.tool_command(environ, argocd.HELM_COMMAND_ENV, argocd.HELM_COMMAND)
        stream = _run_tool("helm template", argocd.helm_template_argv(helm, ctx), environ, cwd)
        sources = [(_source_label(environ), stream)]
    elif kind == argocd.KUSTOMIZE:
        kustomize = argocd.tool_command(
            environ, argocd.KUSTOMIZE_COMMAND_ENV, argocd.KUSTOMIZE_COMMAND
        )
        stream = _run_tool("kustomize build", argocd.kustomize_argv(kustomize), environ, cwd)
        sources = [(_source_label(environ), stream)]
    else:
        sources = []
        for name in argocd.manifest_files(names):
            try:
                sources.append((name, (cwd / name).read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as error:
                raise ToolError(f"{name}: cannot read: {error}") from None
    # One stream, each problem naming its own file; no objects at all is an error
    # (with auto-sync and prune, Argo CD would delete every resource of the app).
    output, problems = render_sources(sources, options)
    if has_errors(problems):
        return "", problems
    return argocd.flatten_lists(output), problems


@click.group(name="argocd")
def argocd_group() -> None:
    """Commands run by the Argo CD config management plugin (see argocd/plugin.yaml)."""


@argocd_group.command(name="generate")
@click.pass_context
def generate_command(ctx: click.Context) -> None:
    """Render the Application's source and inject vault-exec; print the stream."""
    from transformer.frontends.shell import report, write_output

    stream, problems = _generate(os.environ, Path.cwd())
    code = report(problems)
    if code:
        ctx.exit(code)
    write_output(stream)


@argocd_group.command(name="init")
def init_command() -> None:
    """Build a chart's dependencies when it declares any (``helm dependency build``)."""
    from transformer.yaml import kube

    cwd = Path.cwd()
    chart_file = cwd / "Chart.yaml"
    if not chart_file.is_file():
        return
    try:
        chart = kube.load_document(chart_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Chart.yaml: cannot read: {error}") from None
    except kube.YamlSyntaxError as error:
        raise LocatedInputError("Chart.yaml", error.line, error.col, error.message) from None
    if not argocd.chart_has_dependencies(chart):
        return
    helm = argocd.tool_command(os.environ, argocd.HELM_COMMAND_ENV, argocd.HELM_COMMAND)
    # init's stdout is ignored by Argo CD; keep it off ours anyway (logs only).
    _run_tool("helm dependency build", argocd.helm_dependency_argv(helm), os.environ, cwd)


@argocd_group.command(name="discover")
def discover_command() -> None:
    """Print a word when the source mentions vault-exec's exec mode (plugin discovery)."""
    seen = 0
    for root, dirs, files in os.walk(Path.cwd()):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(_DISCOVER_SUFFIXES):
                continue
            seen += 1
            if seen > _DISCOVER_MAX_FILES:
                return
            try:
                text = (Path(root) / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if argocd.mentions_marker(text):
                click.echo("vault-exec")
                return


__all__ = ["argocd_group"]
