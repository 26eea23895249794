"""`build`: a Dockerfile's stages run step by step on btrfs snapshots, each step cached."""
