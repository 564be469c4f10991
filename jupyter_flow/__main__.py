"""``python -m jupyter_flow run FLOW.py`` — the same CLI as ``jupyter flow``."""

from .cli import main

if __name__ == "__main__":
    main()
