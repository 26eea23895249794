"""Registry v2 / OCI distribution client; knows nothing of btrfs."""
