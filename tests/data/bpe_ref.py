"""Reference byte-level BPE (slow, obviously correct) for checking templar's tokenizer."""
import collections, json, sys

MAX = 256

def cls(c):
    if 97 <= c <= 122 or 65 <= c <= 90 or c >= 0x80: return 1
    if 48 <= c <= 57: return 2
    if c == 32 or 9 <= c <= 13: return 0
    return 3

def chunks(s):
    out, pos = [], 0
    while pos < len(s):
        t = s[pos:]
        n = len(t)
        mx = min(n, MAX)
        c = None
        if t[0] == 39 and n >= 2:
            if t[1] in b"stmd": c = 2
            elif n >= 3 and t[1:3] in (b"re", b"ve", b"ll"): c = 3
        if c is None:
            k, j = cls(t[0]), 1
            if t[0] == 32 and n >= 2 and cls(t[1]) != 0:
                k, j = cls(t[1]), 2
            while j < mx and cls(t[j]) == k: j += 1
            if k == 0 and j < mx and j > 1 and t[j - 1] == 32: j -= 1
            c = j
        out.append(t[:c]); pos += c
    return out

def merge_seq(seq, a, b, new):
    out, i = [], 0
    while i < len(seq):
        if i + 1 < len(seq) and seq[i] == a and seq[i + 1] == b:
            out.append(new); i += 2
        else:
            out.append(seq[i]); i += 1
    return out

def train(docs, vocab):
    words = collections.Counter()
    for d in docs:
        for c in chunks(d): words[c] += 1
    seqs = {w: list(w) for w in words}
    merges = []
    for m in range(vocab - 257):
        pairs = collections.Counter()
        for w, s in seqs.items():
            for i in range(len(s) - 1): pairs[(s[i], s[i + 1])] += words[w]
        if not pairs: raise SystemExit("out of pairs")
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        seqs = {w: merge_seq(s, best[0], best[1], 256 + m) for w, s in seqs.items()}
    return merges

def encode(merges, data):
    rank = {tuple(p): i for i, p in enumerate(merges)}
    ids = []
    for c in chunks(data):
        s = list(c)
        while len(s) > 1:
            r = min((rank.get((s[i], s[i + 1]), 1 << 40) for i in range(len(s) - 1)))
            if r == 1 << 40: break
            a, b = merges[r]
            s = merge_seq(s, a, b, 256 + r)
        ids.extend(s)
    return ids

if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "train":  # train TEXTFILE VOCAB -> prints merges JSON
        data = open(sys.argv[2], "rb").read()
        docs = [d for d in data.split(b"\n\x1e\n") if d]
        print(json.dumps(train(docs, int(sys.argv[3]))))
    elif mode == "encode":  # encode TOKENIZER.json TEXTFILE -> prints ids
        merges = json.load(open(sys.argv[2]))["merges"]
        print(" ".join(map(str, encode(merges, open(sys.argv[3], "rb").read()))))
