#pragma once
// Go text/template, the part that Docker's and Podman's --format strings use: fields and
// chains (.State.Running), variables ($x := …, $), pipelines (| json), if/else if/with/
// range (with else, break, continue), comments, trim markers ({{- -}}), and the built-in
// and Docker functions (and or not len index slice eq ne lt le gt ge print printf println
// json join split lower upper title pad truncate). Data is JSON, printed as Go's fmt
// prints a decoded interface{} (maps as map[k:v], lists as [a b]).
//
// Written once here so that every command's --format behaves the same; the table layout
// (Docker's "table …" formats and tabwriter) is in table_format.hpp.
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace minirun::format {

// A method a row offers besides its fields, as Docker's `{{.Label "com.example"}}`:
// called with the row and the arguments.
using Method = std::function<nlohmann::json(const nlohmann::json& self, const std::vector<nlohmann::json>& args)>;
using Methods = std::map<std::string, Method, std::less<>>;

struct TemplateNode;

class Template {
public:
    // Throws Error("template: :LINE: …") for a malformed template or an unknown function.
    static Template parse(std::string_view text);

    // Throws Error("template: :LINE:COL: executing at <…>: …") when the data does not
    // fit (a field of a string, index out of range, a non-comparable eq).
    std::string execute(const nlohmann::json& data, const Methods& methods = {}) const;

    // Docker's table headers: the same template run on a map of field → header, where
    // the formatting functions pass their first argument through and a method prints
    // its header ("LABEL").
    std::string execute_header(const nlohmann::json& headers) const;

private:
    std::shared_ptr<const TemplateNode> root_;
};

// Go's fmt %v of a JSON value, as text/template prints it.
std::string print_value(const nlohmann::json& v);

}  // namespace minirun::format
