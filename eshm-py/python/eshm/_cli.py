"""The ``eshm`` command that ``pip install`` puts on the PATH (the same code as the Rust
binary of ``eshm-cli``)."""

import signal
import sys

from ._eshm import _cli_main


def main() -> None:
    """Runs ``eshm`` with this process's arguments and exits with its status."""
    # Ctrl-C is the command's, as in the Rust binary: `record` and `play` finish cleanly and
    # exit 0, the others end. Python's handler would only raise KeyboardInterrupt once the
    # command has returned (with the file already finished).
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_cli_main(sys.argv))


if __name__ == "__main__":
    main()
