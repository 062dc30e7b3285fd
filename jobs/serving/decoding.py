"""Per-sequence decoding: choosing the next token, its log-probabilities, and turning tokens into text
that never shows half a character or the start of a stop sequence."""

import secrets

import torch

from jobs.serving.types import Sampling, TokenLogprob


def generator_for(sampling: Sampling, choice: int) -> torch.Generator | None:
    """Each choice samples from its own generator, so a seeded request gets the same tokens in any batch."""
    if sampling.greedy:
        return None
    seed = sampling.seed if sampling.seed is not None else secrets.randbits(63)
    return torch.Generator().manual_seed((seed * 1_000_003 + choice) % 2**63)


def next_token(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator | None) -> int:
    """`logits`: one row [vocabulary], float32 on the CPU. OpenAI semantics: temperature, then nucleus (top_p)."""
    if generator is None:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / max(sampling.temperature, 1e-5), dim=-1)
    if sampling.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Keep the smallest set whose mass reaches top_p (the first token always stays).
        outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs > sampling.top_p
        sorted_probs[outside] = 0.0
        probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator))


def token_logprob(logits: torch.Tensor, token: int, top: int, decode) -> TokenLogprob:
    """The model's log-probability of `token` (before temperature, as OpenAI reports it) and the `top` best."""
    logprobs = torch.log_softmax(logits, dim=-1)
    best: tuple[tuple[str, float], ...] = ()
    if top:
        values, ids = torch.topk(logprobs, top)
        best = tuple((decode([int(i)]), float(v)) for v, i in zip(values, ids))
    return TokenLogprob(token=decode([token]), logprob=float(logprobs[token]), top=best)


class TextStream:
    """Generated token ids → text deltas, cut at the first stop sequence.

    Holds back a trailing replacement character (a multi-byte character not yet complete) and any tail
    that could still grow into a stop sequence, so streamed text never has to be taken back.
    """

    def __init__(self, decode, stop: tuple[str, ...]) -> None:
        self.decode = decode
        self.stop = stop
        self.ids: list[int] = []
        self.sent = 0  # characters already given out

    def add(self, token: int) -> tuple[str, bool]:
        """(new text to send, whether a stop sequence ended the output)."""
        self.ids.append(token)
        text = self.decode(self.ids)
        hits = [i for i in (text.find(s, max(0, self.sent - len(s))) for s in self.stop) if i >= 0]
        if hits:
            cut = max(min(hits), self.sent)
            delta, self.sent = text[self.sent : cut], cut
            return delta, True
        end = len(text)
        while end > self.sent and text[end - 1] == "\ufffd":
            end -= 1
        hold = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, end - self.sent), hold, -1):
                if text[end - k : end] == s[:k]:
                    hold = k
                    break
        end -= hold
        delta, self.sent = text[self.sent : end], max(self.sent, end)
        return delta, False

    def flush(self) -> str:
        """What was held back, once the output has ended for another reason (length, end of sequence)."""
        text = self.decode(self.ids)
        delta, self.sent = text[self.sent :], len(text)
        return delta
