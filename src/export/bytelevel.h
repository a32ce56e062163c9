/* GPT-2's byte-level alphabet, the one Hugging Face byte-level BPE tokenizers and llama.cpp's "gpt2"
 * vocabularies spell tokens in: every byte stands for one printable Unicode character (the printable
 * Latin-1 bytes for themselves, the others for U+0100 onwards in byte order), so any byte string is a
 * valid, whitespace-free string. */
#ifndef TP_EXPORT_BYTELEVEL_H
#define TP_EXPORT_BYTELEVEL_H

#include <stddef.h>
#include <stdint.h>

/* The code point byte b stands for. */
uint32_t tp_bytelevel_codepoint(uint8_t b);
/* Writes the UTF-8 spelling of bytes[0..n) and a NUL into out, which must hold 2n+1 bytes (every
 * code point is below U+0800). Returns the length without the NUL. */
size_t tp_bytelevel_spell(const uint8_t *bytes, size_t n, char *out);

#endif
