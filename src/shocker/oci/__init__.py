"""OCI and Docker image data: references, digests, manifests, configs. Pure, no I/O."""
