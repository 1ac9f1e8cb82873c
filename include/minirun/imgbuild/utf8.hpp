#pragma once
// Small UTF-8 helpers for the Containerfile front end. Invalid bytes decode to U+FFFD.
#include <string>
#include <string_view>

namespace minirun::imgbuild::utf8 {

std::u32string decode(std::string_view s);
std::string encode(const std::u32string& s);
// Go's unicode.IsSpace.
bool is_space(char32_t c);

}  // namespace minirun::imgbuild::utf8
