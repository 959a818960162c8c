"""Placeholder: the client subcommand is being built (see its issue)."""

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    print("not built yet")
    return 2
