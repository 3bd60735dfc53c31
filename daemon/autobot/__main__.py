from autobot.cli import entrypoint

entrypoint()
