"""Where a command writes: results on stdout, notes and errors on stderr, questions to the
person at the terminal."""

from __future__ import annotations

from typing import TextIO

from pydantic import BaseModel


class Console:
    """The streams of one command. With ``json_mode``, stdout carries exactly one JSON
    document and everything meant for a person goes to stderr."""

    def __init__(
        self, *, stdout: TextIO, stderr: TextIO, stdin: TextIO, json_mode: bool = False
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin
        self.json_mode = json_mode

    def out(self, text: str) -> None:
        """A result for a person (not used in JSON mode)."""
        print(text, file=self.stdout)

    def info(self, text: str) -> None:
        """A line a person should read before the result: stdout, or stderr in JSON mode."""
        print(text, file=self.stderr if self.json_mode else self.stdout)

    def note(self, text: str) -> None:
        """A remark beside the result, on stderr."""
        print(text, file=self.stderr)

    def error(self, message: str) -> None:
        """The one line a failed command prints."""
        print(f"taskflow: error: {message}", file=self.stderr)

    def emit(self, document: BaseModel) -> None:
        """The JSON document of a command (its only output on stdout)."""
        print(document.model_dump_json(indent=2), file=self.stdout)

    @property
    def interactive(self) -> bool:
        """Whether a person can answer a question (stdin is a terminal)."""
        isatty = getattr(self.stdin, "isatty", None)
        return bool(isatty and isatty())

    def confirm(self, question: str) -> bool:
        """Ask ``question`` on stderr; True for an answer starting with ``y``."""
        print(f"{question} [y/N] ", end="", file=self.stderr, flush=True)
        answer = self.stdin.readline()
        return answer.strip().lower().startswith("y")
