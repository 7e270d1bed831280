"""The ``eshm`` command that ``pip install`` puts on the PATH (the same code as the Rust
binary of ``eshm-cli``)."""

import sys

from ._eshm import _cli_main


def main() -> None:
    """Runs ``eshm`` with this process's arguments and exits with its status."""
    sys.exit(_cli_main(sys.argv))


if __name__ == "__main__":
    main()
