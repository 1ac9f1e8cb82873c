#pragma once
// Docker's --filter KEY=VALUE for `ps` and `images`, decided on records alone so that
// they can be tested without a host. As in Docker: values given for one key are
// alternatives (any may match), different keys must all match, and every label= must
// match. An unknown key or a bad value is a one-line InvalidArgument error naming it.
#include <regex.h>

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "minirun/engine/container_store.hpp"
#include "minirun/image/stored_image.hpp"

namespace minirun::engine {

struct ContainerFilters {
    std::map<std::string, std::vector<std::string>> values;  // key → values, as given
    // name=: Docker's are regular expressions (POSIX extended here: libc's, compiled once)
    std::vector<std::shared_ptr<regex_t>> names;
    // status= and exited= ask for stopped containers by themselves, as in Docker.
    bool wants_stopped() const { return values.count("status") || values.count("exited"); }
};

// ps's keys: id name label status ancestor network volume health exited before since.
ContainerFilters parse_container_filters(const std::vector<std::string>& args);

// What a container filter needs besides the record, supplied by the caller.
struct ContainerFacts {
    std::function<std::string(const ContainerRecord&)> health;  // healthy unhealthy starting, "" for none
    // ancestor=: the image id (config digest) a name, reference or id stands for, if any.
    std::function<std::optional<std::string>(const std::string&)> image_id;
    // before=/since=: the container a name or id stands for (throws when there is none).
    std::function<ContainerRecord(const std::string&)> container;
};

bool matches(const ContainerFilters& f, const ContainerRecord& r, const ContainerFacts& facts);

struct ImageFilters {
    std::map<std::string, std::vector<std::string>> values;
};

// images' keys: reference dangling label before since.
ImageFilters parse_image_filters(const std::vector<std::string>& args);

// `all` is the whole listing, where before=/since= find the image they name.
bool matches(const ImageFilters& f, const image::ImageSummary& img, const std::vector<image::ImageSummary>& all);

}  // namespace minirun::engine
