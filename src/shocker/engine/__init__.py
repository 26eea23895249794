"""The verbs: the only package that combines registry, store, runtime, cgroups and network."""
