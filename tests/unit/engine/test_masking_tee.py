"""A secret split across writes is masked whole; other output is never held back."""

from __future__ import annotations

import pytest

from jupyter_flow.runtime.masking_tee import StreamMasker

SECRET = b"s3cr3t-value-42"


def _through(pieces: list[bytes], values: tuple[bytes, ...] = (SECRET,)) -> tuple[bytes, list]:
    masker = StreamMasker(values)
    shown = [masker.feed(p) for p in pieces]
    shown.append(masker.flush())
    return b"".join(shown), shown


@pytest.mark.parametrize("cut", range(1, len(SECRET)))
def test_a_secret_cut_anywhere_is_masked_and_never_partly_shown(cut: int) -> None:
    text = b"login with " + SECRET + b" ok\n"
    start = text.index(SECRET)
    whole, shown = _through([text[: start + cut], text[start + cut :]])
    assert whole == b"login with ******** ok\n"
    assert SECRET[:cut] not in shown[0]  # the first half did not go out before the second


def test_a_secret_printed_a_byte_at_a_time_is_masked() -> None:
    whole, _ = _through([bytes([b]) for b in b"[" + SECRET + b"]" + SECRET])
    assert whole == b"[********]********"


def test_output_that_cannot_start_a_secret_is_passed_on_at_once() -> None:
    masker = StreamMasker((SECRET,))
    assert masker.feed(b"epoch 1 loss 0.3\n") == b"epoch 1 loss 0.3\n"
    assert masker.feed(b"tokens: s3") == b"tokens: "  # "s3" may begin the secret
    assert masker.feed(b"x\n") == b"s3x\n"  # it did not


def test_a_start_of_a_secret_left_at_the_end_is_given_out_at_the_end() -> None:
    whole, shown = _through([b"abc s3cr3t"])
    assert shown[0] == b"abc " and whole == b"abc s3cr3t"


def test_the_longer_of_two_overlapping_secrets_is_masked_whole() -> None:
    whole, _ = _through([b"a s3cr3t", b"-value-42 b s3cr3t c"], (SECRET, b"s3cr3t"))
    assert whole == b"a ******** b ******** c"


def test_a_secret_ending_in_the_start_of_another_is_not_cut_in_two() -> None:
    whole, shown = _through([b"<wxyz", b">"], (b"wxyz", b"yzab"))
    assert whole == b"<********>" and b"wx" not in shown[0]
