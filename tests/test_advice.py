"""Advice each face words its own way: the CLI's flags, the TUI's fields and keys."""

from __future__ import annotations

import json

import pytest

from core.advice import Advice, Fix
from core.errors import UsageError
from core.http.base import registry_origin
from tui.advice import TUI_WORDS, say, say_error


def test_advice_reads_as_the_cli_and_is_worded_for_the_tui() -> None:
    advice = Advice("x is plain HTTP; {insecure} to allow it. {Ca_cert} for a private CA. {not a fix}")
    assert advice == "x is plain HTTP; pass --insecure to allow it. Pass --ca-cert FILE for a private CA. {not a fix}"
    assert json.loads(json.dumps({"detail": advice})) == {"detail": str(advice)}  # JSON keeps the CLI's words
    assert say(advice) == (
        "x is plain HTTP; tick Insecure on the Target screen to allow it. "
        "Fill in CA certificate on the Target screen for a private CA. {not a fix}"
    )
    assert say("plain text") == "plain text"
    assert isinstance(advice + " more", Advice) and say(advice + " {spool_dir}").endswith("Spool directory on the Target screen")


def test_every_fix_has_words_in_the_tui() -> None:
    assert set(TUI_WORDS) == set(Fix)


def test_engine_errors_carry_advice_the_tui_words() -> None:
    with pytest.raises(UsageError) as caught:
        registry_origin("http://127.0.0.1:5000", insecure=False)
    assert "--insecure" in str(caught.value)  # the CLI as before
    assert "Tick Insecure on the Target screen" in say_error(caught.value) and "--" not in say_error(caught.value)
