"""The password policy of cloud accounts and Manager administrators (docs/security.md, issue 10 item 5).

Following NIST SP 800-63B rather than composition rules: at least ``MIN_LENGTH`` characters,
and not a password that is common or trivially guessed. The guessing check is the maintained
``zxcvbn`` estimator (its frequency lists hold the common passwords, keyboard walks, repeats and
sequences, and it is told the account's e-mail and name so that those are no password either);
a password it rates below ``MIN_SCORE`` (fewer than about 10^6 guesses, e.g. ``12345678``,
``password1`` or eight spaces) is refused with its warning. zxcvbn rates at most 72 characters;
a longer password is rated by its first 72.
"""

from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_LENGTH = 8
MIN_SCORE = 2  # zxcvbn: 0 too guessable, 1 very guessable (< 10^6 guesses), 2 somewhat guessable (< 10^8)
_RATED = 72  # zxcvbn's own limit


def password_problem(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """Why ``password`` is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"must have at least {MIN_LENGTH} characters"
    if not password.strip():
        return "must not be only spaces"
    rating = zxcvbn(password[:_RATED], user_inputs=[u for u in user_inputs if u][:8])
    if rating["score"] >= MIN_SCORE:
        return None
    feedback = rating["feedback"]
    why = feedback.get("warning") or "it is too easy to guess"
    hints = " ".join(feedback.get("suggestions") or ())
    return f"is too easy to guess ({why.rstrip('.')}){': ' + hints if hints else ''}"
