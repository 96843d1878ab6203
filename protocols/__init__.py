"""Protocol files (one TOML per protocol), installed as the package data of ``hsibench.protocol_files``."""

if __name__ != "hsibench.protocol_files":  # e.g. `import protocols` from the repository root
    raise ImportError(f"this folder is the package `hsibench.protocol_files`, not `{__name__}`")
