"""Everything on disk under SHOCKER_ROOT."""
