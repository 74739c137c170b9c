"""Text as the risk lexicon reads it: folded words, chat spellings made one, compounds split."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_LETTER_MAP = str.maketrans({"æ": "a", "ø": "o", "å": "a", "'": None, "’": None, "`": None,
                             "´": None})
_NON_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"(.)\1+")

# Emoji children use for what the lexicon has words for. Faces are left out on purpose:
# 💀 and 😭 mostly mean "so funny" in chat.
EMOJI_WORDS = {
    "💊": " piller ", "🔪": " kniv ", "🗡": " kniv ", "🩸": " blod ", "⚰": " dod ",
    "🪢": " reb ", "🍺": " øl ", "🍻": " øl ", "🍷": " vin ", "🥃": " sprut ", "🍾": " sprut ",
    "🍸": " sprut ", "💉": " sprøjte ", "🚬": " smøger ", "🥊": " slag ", "👊": " slag ",
    "🤛": " slag ", "🤜": " slag ", "🏠": " hjem ", "🏡": " hjem ", "🚫": " nej ",
    "🤫": " hemmelighed ",
    # laughing faces mark a joke, as "haha" does
    "😂": " haha ", "🤣": " haha ", "😅": " haha ", "😆": " haha ", "😄": " haha ",
    "😁": " haha ", "😝": " haha ", "😜": " haha ",
}
_EMOJI = re.compile("|".join(map(re.escape, EMOJI_WORDS)))

# Chat spellings of the same word, after folding (so "ikke" is already "ike"): the lexicon is
# written in ordinary spelling and finds them all.
SPELLINGS = {
    "ik": "ike", "ikek": "ike", "ikr": "ike", "ikj": "ike", "ikje": "ike", "ike": "ike",
    "aldrg": "aldrig", "mg": "mig", "mej": "mig", "dg": "dig", "dej": "dig", "jg": "jeg",
    "jaj": "jeg", "ose": "ogsa", "hjm": "hjem", "mer": "mere", "mre": "mere", "nogt": "noget",
    "dnt": "dont", "dun": "dont", "doesnt": "dont", "didnt": "dont", "canot": "cant",
    "cnt": "cant", "cudnt": "cant", "couldnt": "cant", "aint": "not", "isnt": "not",
    "wasnt": "not", "arent": "not", "u": "you", "ur": "your", "r": "are", "ppl": "people",
    "bc": "because", "cuz": "because", "coz": "because", "pls": "please", "plz": "please",
    "im": "i am", "ive": "i have", "wana": "want to", "gona": "going to", "gota": "have to",
    "duno": "dont know", "bf": "boyfriend", "gf": "girlfriend", "mom": "mum", "momy": "mum",
    "mumy": "mum", "mam": "mum", "mama": "mum", "dady": "dad", "stepmom": "stepmum",
    "fars": "far", "mors": "mor", "dads": "dad", "mums": "mum", "moms": "mum",
    # dialect and chat forms of Danish words ("ska ik hjem", "vil ha", "min tlf")
    "ska": "skal", "sku": "skule", "ku": "kune", "ha": "have", "tlf": "telefon",
    "derhjem": "derhjeme", "hjemm": "hjem", "idk": "i dont know", "rn": "right now",
    "wil": "vil", "nogn": "nogen", "ingn": "ingen", "altd": "altid",
    # Jutlandic and chat forms, after folding ("a bliv slået", "drikk for møj", "theyll");
    # not "te" for "til": the lexicon has "te" (tea)
    "bliv": "bliver", "moj": "meget", "drik": "drikker", "bout": "about",
    "abt": "about", "theyl": "they will", "youl": "you will", "pics": "pictures",
    "pic": "picture",
    # children's spellings: "wen", "evry", "ded", "doesn't" (folded "dosnt"), "tar" (tager)
    "wen": "when", "evry": "every", "ded": "dead", "wat": "what", "wud": "would",
    "dosnt": "dont", "diffrent": "different", "tar": "tager",
}
_SPELLINGS = {key: tuple(value.split()) for key, value in SPELLINGS.items()}

# A parent, a teacher or a sibling writes about the child: "hun skærer i sig selv", "she plans
# to take her own life". Read once more as if the child wrote it, so the lexicon's "mig selv"
# and "my life" find it. Subjects ("han", "she") stay: they are the other person as often.
AS_FIRST_PERSON = {
    "sig": "mig", "hende": "mig", "ham": "mig", "hans": "min", "hendes": "min", "sin": "min",
    "sit": "mit", "sine": "mine", "himself": "myself", "herself": "myself",
    "themselves": "myself", "themself": "myself", "his": "my", "her": "my", "their": "my",
}


def as_first_person(words: list[str]) -> list[str]:
    """Folded `words` with third-person objects and possessives read as the writer's own."""
    return [AS_FIRST_PERSON.get(word, word) for word in words]


def fold_word(word: str) -> str:
    """One word folded as `fold` folds: for writing the lexicon in ordinary spelling."""
    words = fold(word)
    return "".join(words)


def fold(text: str) -> list[str]:
    """Words of `text` folded for matching: case, æøå/ae-oe-aa, accents, repeated letters,
    emoji that stand for words, and chat spellings ("ik", "ikk" -> "ike")."""
    text = _EMOJI.sub(lambda m: EMOJI_WORDS[m.group(0)], text)
    lowered = unicodedata.normalize("NFKC", text).casefold().translate(_LETTER_MAP)
    plain = "".join(
        char for char in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(char)
    )
    words: list[str] = []
    for word in _NON_WORD.split(plain):
        if word:
            word = word.replace("ae", "a").replace("oe", "o")
            word = _REPEATS.sub(r"\1", word)
            words.extend(_SPELLINGS.get(word, (word,)))
    return words


# The two-letter words a run-together message is cut into; others ("od" in "panodil") are
# too often a piece of some longer word.
SHORT_WORDS = frozenset({"at", "to", "me", "my", "og", "en", "et", "er", "is", "am", "so", "du",
                         "de", "vi", "pa", "af", "om", "in", "on", "of", "it", "be", "no", "ud",
                         "op", "sa", "ja", "nu"})


def split_compound(token: str, known: Callable[[str], bool], *, longest: int = 24) -> list[str]:
    """`token` cut into the fewest known words ("villeikkeleve" -> ville ike leve), or
    `[token]` when it cannot be. Every piece has three letters or more, or is one of
    SHORT_WORDS."""
    if len(token) > longest or len(token) < 5:
        return [token]
    # best[i]: the fewest pieces covering token[:i]
    best: list[list[str] | None] = [[]] + [None] * len(token)
    for end in range(2, len(token) + 1):
        for start in range(max(0, end - 16), end - 1):
            head = best[start]
            piece = token[start:end]
            if head is None or not known(piece) or (len(piece) == 2 and piece not in SHORT_WORDS):
                continue
            if best[end] is None or len(head) + 1 < len(best[end] or ()):
                best[end] = [*head, piece]
    found = best[len(token)]
    return found if found and len(found) > 1 else [token]
