#pragma once
// Checking an unpacked layer against its diff id (system check): the blob is extracted
// again, which re-hashes its uncompressed stream, and the trees are compared entry by
// entry (type, mode, owner, content, link target, device, overlay marks).
#include <string>

namespace minirun::image {
class Store;
}

namespace minirun::engine {

struct LayerCheck {
    std::string problem;    // empty: the layer is what its blob says
    bool replaced = false;  // the damaged tree was swapped for a fresh extraction
};

// `blob_digest` is the compressed blob whose uncompressed stream is `diff_id`. With
// `replace_if_damaged`, a layer that differs is swapped for the fresh tree (callers make
// sure no running container stacks it).
LayerCheck verify_layer(const image::Store& store, const std::string& diff_id, const std::string& blob_digest,
                        bool replace_if_damaged);

}  // namespace minirun::engine
