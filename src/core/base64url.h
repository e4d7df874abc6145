// base64url (RFC 4648 §5) without padding, as JOSE uses it.
// Decoding is strict: only the 64 alphabet characters, no padding, no
// whitespace, a length that is not 1 mod 4, and zero unused trailing bits —
// so every byte string has exactly one accepted encoding.
#pragma once

#include <string>
#include <string_view>

namespace nova::b64url {

std::string encode(std::string_view bytes);
// Appends to out; returns false (out unspecified) when `text` is not canonical base64url.
bool decode(std::string_view text, std::string &out);

}  // namespace nova::b64url
