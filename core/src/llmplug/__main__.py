"""``python -m llmplug``: the ``llmplug`` command line."""

from llmplug.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
