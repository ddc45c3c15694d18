"""The logscan command."""


def run() -> None:
    """The ``logscan`` command: the process is set up before Arrow loads, then the CLI runs."""
    from .tuning import tune_process

    tune_process()
    from .app import run as run_app

    run_app()


__all__ = ["run"]
