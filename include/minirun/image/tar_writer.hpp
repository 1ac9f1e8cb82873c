#pragma once
// A tar stream being written (ustar, root-owned, mtime 0 so the bytes depend on content
// only): what `minirun save` and imgbuild's oci-archive output produce. Written by hand
// rather than through libarchive: minirun links libarchive statically, and its writer
// drags every format (7zip, xar with libxml2, …) into the binary; these archives only
// hold plain files and directories with short names.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace minirun::image {

class TarWriter {
public:
    // Writes to `fd` (not owned); `what` names the destination in errors.
    TarWriter(int fd, std::string what);
    ~TarWriter() = default;
    TarWriter(const TarWriter&) = delete;
    TarWriter& operator=(const TarWriter&) = delete;

    void add_directory(const std::string& name);
    void add_bytes(const std::string& name, std::string_view data);
    // A regular file's contents under `name`.
    void add_file(const std::string& name, const std::filesystem::path& from);
    // Every directory and regular file under `dir`, sorted, named relative to it.
    void add_tree(const std::filesystem::path& dir);
    // Writes the end marker (two zero blocks).
    void finish();

private:
    void header(const std::string& name, char type, unsigned mode, uint64_t size);
    void write(const void* p, size_t n);
    void pad(uint64_t size);
    int fd_;
    std::string what_;
};

}  // namespace minirun::image
