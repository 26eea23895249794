"""The runtime-spec version shocker implements, alone: `shocker-runtime state` prints it
without importing the spec's parser (shocker.oci.runtime_spec)."""

from __future__ import annotations

OCI_VERSION = "1.0.2"
