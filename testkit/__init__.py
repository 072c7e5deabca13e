"""Test harness modules for the tiers that run real outside parts (helm, podman)."""
