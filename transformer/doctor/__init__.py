"""``vault-exec doctor``: before deploy, can each workload log in to Vault and read
what it asks for? Checked against a live Vault/OpenBao (see docs/doctor.md).

Modules: :mod:`.workloads` (what each workload needs, as render decides it),
:mod:`.templates` (what a template reads, from the agent's parse tree),
:mod:`.vault` (the one hvac user), :mod:`.checks`, :mod:`.setup`
(``--print-setup``/``--apply``), :mod:`.run` and :mod:`.command` (the CLI part).
"""
