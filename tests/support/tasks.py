"""A small chat task the base model cannot do: name a sentence's topic by an invented code word.

"The old dog slept all afternoon." → "zorblat" (animals). The code words are made up, so the base
model scores ~0%; a fine-tuned model has to learn the mapping, and the held-out split (other
templates, other adjective/noun/template combinations) checks that it learnt the topics, not the
training sentences. Everything is generated from word lists with a seeded random.Random.
"""

import json
import random
import string
from collections.abc import Callable
from pathlib import Path

SYSTEM_PROMPT = "Reply with the topic code."

# topic: (code word, nouns)
TOPICS: dict[str, tuple[str, list[str]]] = {
    "animals": ("zorblat", ["dog", "cat", "horse", "rabbit", "fox", "cow", "sheep", "owl", "tiger", "goat", "duck", "wolf"]),
    "food": ("quimmex", ["soup", "bread", "pizza", "cake", "salad", "cheese", "pasta", "pie", "sandwich", "stew", "rice", "omelette"]),
    "vehicles": ("vantrel", ["car", "truck", "bus", "bicycle", "train", "tractor", "motorbike", "van", "taxi", "tram", "scooter", "lorry"]),
    "weather": ("plosk", ["storm", "rain", "fog", "snow", "wind", "hail", "thunder", "drizzle", "frost", "heatwave", "blizzard", "breeze"]),
    "music": ("drimmel", ["guitar", "piano", "violin", "drum", "song", "trumpet", "flute", "melody", "choir", "cello", "banjo", "harp"]),
}
ADJECTIVES = ["old", "new", "loud", "quiet", "strange", "lovely", "big", "small", "cold", "warm", "famous", "odd"]

TEMPLATES = {
    "train": [
        "The {adj} {noun} was all we talked about.",
        "I noticed a {adj} {noun} this morning.",
        "Everyone remembers that {adj} {noun}.",
        "My sister loves the {adj} {noun}.",
        "There was a {adj} {noun} near the station.",
        "We read an article about a {adj} {noun}.",
        "Nobody expected such a {adj} {noun}.",
        "Tell me more about the {adj} {noun}.",
    ],
    "test": [
        "Yesterday the {adj} {noun} surprised us.",
        "Have you ever seen a {adj} {noun}?",
        "Our neighbour described the {adj} {noun} in detail.",
        "What a {adj} {noun} that was!",
    ],
}


def classification_examples(n: int, seed: int = 0, split: str = "train") -> list[dict]:
    """`n` chat examples, the topics in turn (balanced), in a seeded random order."""
    rng = random.Random(f"{split}-{seed}")
    templates = TEMPLATES[split]
    topics = list(TOPICS)
    examples = []
    for i in range(n):
        code, nouns = TOPICS[topics[i % len(topics)]]
        sentence = rng.choice(templates).format(adj=rng.choice(ADJECTIVES), noun=rng.choice(nouns))
        examples.append(
            {
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": sentence},
                    {"role": "assistant", "content": code},
                ]
            }
        )
    rng.shuffle(examples)
    return examples


def write_jsonl(path: Path, examples: list[dict]) -> Path:
    path.write_text("".join(json.dumps(example) + "\n" for example in examples))
    return path


def normalize(text: str) -> str:
    return text.strip().strip(string.punctuation + string.whitespace).lower()


def exact_match_accuracy(predict: Callable[[list[dict]], str], examples: list[dict]) -> float:
    """Fraction of examples where `predict(prompt messages)` is exactly the expected code word."""
    hits = 0
    for example in examples:
        *prompt, answer = example["messages"]
        hits += normalize(predict(prompt)) == normalize(answer["content"])
    return hits / len(examples)
