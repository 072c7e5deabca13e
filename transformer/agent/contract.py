"""The pod contract: every name and path the transformer writes into a pod spec and the
agent (or the bundle build) relies on, in one module both halves import. It imports
nothing, so the agent pays nothing for it.

The bundle's ELF interpreter and rpath are patched to an absolute path at build
time, so the path where the app container mounts the bundle is baked into the
bundle: it is one constant here, read by the bundle build script, the
transformer (which writes the pod spec) and the agent (``install``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs the agent start-up time (bench/); only mypy needs Final
    from typing import Final

#: Where app containers mount the agent bundle (read-only), and where the bundle
#: lives inside the agent image. PT_INTERP of the bundle points below it.
BUNDLE_MOUNT_PATH: Final = "/vault-exec"

#: The agent executable inside the bundle directory.
AGENT_EXECUTABLE_NAME: Final = "vault-exec-agent"
AGENT_EXECUTABLE: Final = f"{BUNDLE_MOUNT_PATH}/{AGENT_EXECUTABLE_NAME}"

#: Where the init container mounts the shared emptyDir it copies the bundle into
#: (it cannot be BUNDLE_MOUNT_PATH: that would hide the image's own bundle).
INSTALL_TARGET_PATH: Final = "/vault-exec-target"

#: Environment variable carrying the agent's JSON config (schemas/agent-config.schema.json).
CONFIG_ENV_VAR: Final = "VAULT_EXEC_CONFIG"

#: Default service-account token path (the kubelet's automounted token).
DEFAULT_SA_TOKEN_PATH: Final = "/var/run/secrets/kubernetes.io/serviceaccount/token"

#: Where the transformer mounts a projected token when the pod opts out of the automount.
PROJECTED_TOKEN_DIR: Final = "/var/run/secrets/vault-exec"
PROJECTED_TOKEN_PATH: Final = f"{PROJECTED_TOKEN_DIR}/token"

#: Version of the agent config format written by the transformer.
CONFIG_VERSION: Final = 1

#: The init container that copies the bundle, and the pod's volumes vault-exec adds.
INSTALL_CONTAINER: Final = "vault-exec-install"
AGENT_VOLUME: Final = "vault-exec-agent"
TOKEN_VOLUME: Final = "vault-exec-token"
