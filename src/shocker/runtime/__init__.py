"""Starts and joins container processes from a runtime spec (shocker.oci.runtime_spec)."""
