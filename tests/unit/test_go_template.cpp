// The --format template engine: Go's text/template semantics and fmt's %v printing over
// JSON data, and Docker's table layout (tabwriter). Expected texts are what Go's
// text/template gives for the same template and data (a map[string]interface{} decoded
// from the same JSON, ints kept as ints); the integration test compares with podman.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/format/go_template.hpp"
#include "minirun/format/table_format.hpp"

using namespace minirun;
using json = nlohmann::json;

namespace {

const json kData = json::parse(R"({
  "Name": "web", "Id": "abc123",
  "State": {"Running": true, "Status": "running", "ExitCode": 0},
  "Config": {"Env": ["A=1", "B=2"], "Cmd": ["sh", "-c", "echo hi"], "Labels": {"b": "2", "a": "1"}, "Empty": []},
  "Num": 1.5, "Big": 1234567.0, "Small": 0.00001, "Nil": null
})");

std::string run(const std::string& tmpl, const json& data = kData, const format::Methods& m = {}) {
    return format::Template::parse(tmpl).execute(data, m);
}

std::string error_of(const std::string& tmpl, const json& data = kData) {
    try {
        run(tmpl, data);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("go template: fields, chains and Go's printing of values") {
    CHECK(run("{{.Name}}") == "web");
    CHECK(run("id={{.Id}} {{.State.Running}} {{.State.ExitCode}}") == "id=abc123 true 0");
    CHECK(run("{{.Config.Cmd}}") == "[sh -c echo hi]");
    CHECK(run("{{.Config.Labels}}") == "map[a:1 b:2]");  // keys sorted, as fmt prints maps
    CHECK(run("{{.Config.Empty}}") == "[]");
    CHECK(run("{{.Missing}}") == "<no value>");
    CHECK(run("{{.Missing.Deeper}}") == "<no value>");
    CHECK(run("{{.Nil}}") == "<nil>");
    CHECK(run("{{.Num}} {{.Big}} {{.Small}}") == "1.5 1.234567e+06 1e-05");
    CHECK(run("{{.}}", json("plain")) == "plain");
    CHECK(run("{{.State}}") == "map[ExitCode:0 Running:true Status:running]");
    CHECK(run("{{.Config.Labels.a}}") == "1");
}

TEST_CASE("go template: functions Docker's --format users reach for") {
    CHECK(run("{{json .Config.Labels}}") == R"({"a":"1","b":"2"})");
    CHECK(run("{{json .Config.Cmd}}") == R"(["sh","-c","echo hi"])");
    CHECK(run("{{.Config.Cmd | json}}") == R"(["sh","-c","echo hi"])");
    CHECK(run("{{json .Missing}}") == "null");
    CHECK(run("{{index .Config.Labels \"a\"}}|{{index .Config.Labels \"zz\"}}|{{index .Config.Cmd 2}}") == "1||echo hi");
    CHECK(run("{{join .Config.Cmd \",\"}}") == "sh,-c,echo hi");
    CHECK(run("{{split \"a:b:c\" \":\"}}") == "[a b c]");
    CHECK(run("{{lower \"ABC\"}}{{upper \"x\"}} {{title \"hello wide world\"}}") == "abcX Hello Wide World");
    CHECK(run("[{{pad \"x\" 1 2}}] {{truncate \"abcdef\" 3}} {{truncate \"ab\" 3}}") == "[ x  ] abc ab");
    CHECK(run("{{len .Config.Cmd}} {{len .Name}} {{len .Config.Labels}}") == "3 3 2");
    CHECK(run("{{slice .Name 1 3}} {{slice .Config.Cmd 1}}") == "eb [-c echo hi]");
    CHECK(run("{{and 1 0}} {{and 1 \"x\"}} {{or 0 \"\" \"y\"}} {{or 0 false}} {{not true}} {{not .Config.Empty}}") ==
          "0 x y false false true");
    CHECK(run("{{eq .State.Status \"running\"}} {{eq 1 2 3 1}} {{ne .Name \"db\"}} {{eq .Missing nil}}") ==
          "true true true true");
    CHECK(run("{{lt 1 2}} {{le 2 2}} {{gt 1.5 2}} {{ge \"b\" \"a\"}}") == "true true false true");
    CHECK(run("{{print \"a\" 1 2 \"b\"}}|{{println \"a\" 1}}|") == "a1 2b|a 1\n|");
    CHECK(run("{{html \"<a&b>\"}} {{urlquery \"a b&c\"}} {{js \"it's\"}}") == "&lt;a&amp;b&gt; a+b%26c it\\'s");
    // and/or stop at the deciding argument: the index after it is never evaluated
    CHECK(run("{{or .Name (index .Config.Cmd 99)}} {{and .Config.Empty (index .Config.Cmd 99)}}") == "web []");
}

TEST_CASE("go template: printf follows Go's verbs") {
    CHECK(run(R"({{printf "%s-%d|%5s|%-4s|%05d|%.2f|%q|%v" .Name 42 "ab" "c" 42 3.14159 "q\"x" .Config.Cmd}})") ==
          R"(web-42|   ab|c   |00042|3.14|"q\"x"|[sh -c echo hi])");
    CHECK(run(R"({{printf "%x %X %o %b %c %t %%" 255 255 8 5 65 true}})") == "ff FF 10 101 A true %");
    CHECK(run(R"({{printf "%e %g %g %.3s %+d" 1234.5678 0.000012 100000.0 "abcdef" 5}})") == "1.234568e+03 1.2e-05 100000 abc +5");
    CHECK(run(R"({{printf "%d" "x"}} {{printf "%s"}} {{printf "%s" "a" "b"}})") ==
          "%!d(string=x) %!s(MISSING) a%!(EXTRA string=b)");
    CHECK(run(R"({{.Name | printf "%s!"}})") == "web!");
}

TEST_CASE("go template: control structures, variables, trim markers, comments") {
    CHECK(run("{{if .State.Running}}up{{else}}down{{end}}") == "up");
    CHECK(run("{{if eq .State.Status \"exited\"}}E{{else if eq .State.Status \"running\"}}R{{else}}?{{end}}") == "R");
    CHECK(run("{{if .Missing}}a{{else if .Nil}}b{{else}}c{{end}}") == "c");
    CHECK(run("{{with .Config.Labels}}{{.a}}{{end}}|{{with .Missing}}x{{else}}no{{end}}") == "1|no");
    CHECK(run("{{range .Config.Env}}{{.}};{{end}}") == "A=1;B=2;");
    CHECK(run("{{range $i, $e := .Config.Env}}{{$i}}={{$e}} {{end}}") == "0=A=1 1=B=2 ");
    CHECK(run("{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}},{{end}}") == "a:1,b:2,");
    CHECK(run("{{range $v := .Config.Labels}}{{$v}}{{end}}") == "12");
    CHECK(run("{{range .Config.Empty}}x{{else}}none{{end}}|{{range .Missing}}x{{else}}none{{end}}") == "none|none");
    CHECK(run("{{range .Config.Env}}{{$.Name}}{{end}}") == "webweb");
    CHECK(run("{{range $i, $e := .Config.Cmd}}{{if eq $i 1}}{{break}}{{end}}{{$e}}{{end}}") == "sh");
    CHECK(run("{{range .Config.Env}}{{if eq . \"A=1\"}}{{continue}}{{end}}{{.}}{{end}}") == "B=2");
    CHECK(run("{{range 3}}{{.}}{{end}}") == "012");
    CHECK(run("{{$n := .Name}}{{$n}}{{$n = \"x\"}}{{$n}}") == "webx");
    CHECK(run("{{if $s := .State.Status}}{{$s}}{{end}}") == "running");
    CHECK(run("{{(index .Config.Cmd 0)}} {{(index .Config.Labels \"a\") | printf \"<%s>\"}}") == "sh <1>");
    CHECK(run("a  {{- .Name -}}  \n b") == "awebb");
    CHECK(run("{{- /* a comment */ -}} x {{/* another */}}y") == "x y");
    CHECK(run("{{\"}}\"}}") == "}}");  // a quoted }} does not close the action
    CHECK(run("{{`raw\\n`}}") == "raw\\n");
    CHECK(run("{{-3}}") == "-3");  // no space after {{-: a number, not a trim marker
}

TEST_CASE("go template: methods a row offers, and the header run") {
    format::Methods m;
    m["Label"] = [](const json& self, const std::vector<json>& args) -> json {
        auto it = self["LabelMap"].find(args.at(0).get<std::string>());
        return it == self["LabelMap"].end() ? json("") : *it;
    };
    json row = {{"Name", "web"}, {"LabelMap", {{"tier", "front"}}}};
    CHECK(run("{{.Name}} {{.Label \"tier\"}} [{{.Label \"none\"}}]", row, m) == "web front []");
    auto t = format::Template::parse("{{.Name}}\t{{.Label \"tier\"}}\t{{json .Name}}\t{{lower .Name}}");
    CHECK(t.execute_header(json{{"Name", "NAMES"}}) == "NAMES\tLABEL\tNAMES\tNAMES");
}

TEST_CASE("go template: errors name the line and what went wrong, in Go's words") {
    CHECK(error_of("{{.Name") == "template: :1: unclosed action");
    CHECK(error_of("{{foo .Name}}") == "template: :1: function \"foo\" not defined");
    CHECK(error_of("x\n{{if .Name}}") == "template: :2: unexpected EOF");
    CHECK(error_of("{{end}}") == "template: :1: unexpected {{end}}");
    CHECK(error_of("{{break}}") == "template: :1: {{break}} outside {{range}}");
    CHECK(error_of("{{$x}}") == "template: :1: undefined variable \"$x\"");
    CHECK(error_of("{{define \"x\"}}{{end}}").find("not supported") != std::string::npos);
    CHECK(error_of("a\n  {{.Name.First}}") ==
          "template: :2:3: executing \"\" at <.Name.First>: can't evaluate field First in type string");
    CHECK(error_of("{{index .Config.Cmd 9}}").find("error calling index: index out of range: 9") != std::string::npos);
    CHECK(error_of("{{eq .Config.Cmd \"x\"}}").find("non-comparable type") != std::string::npos);
    CHECK(error_of("{{eq .Name 1}}").find("incompatible types for comparison") != std::string::npos);
    CHECK(error_of("{{range .Name}}{{end}}").find("range can't iterate over web") != std::string::npos);
    CHECK(error_of("{{.Name \"arg\"}}").find("has arguments but cannot be invoked") != std::string::npos);
    CHECK(error_of("{{len 3}}").find("len of type int") != std::string::npos);
    CHECK(error_of("{{join .Config.Cmd}}").find("wrong number of args for join: want 2 got 1") != std::string::npos);
    CHECK(error_of("{{printf}}").find("wrong number of args for printf") != std::string::npos);
    CHECK(error_of("{{\"unterminated}}") == "template: :1: unterminated quoted string");
}

TEST_CASE("tabwriter: Docker's column layout") {
    // columns at least 10 wide, each 3 wider than its widest cell; the last cell unpadded
    CHECK(format::tabwrite("A\tBB\tC\nxxxxxxxxxxxxxx\ty\tz\n") ==
          "A                BB        C\n"
          "xxxxxxxxxxxxxx   y         z\n");
    // a line without a tab ends the block: the lines after it align on their own
    CHECK(format::tabwrite("aaaaaaaaaaaaaaaa\tb\nplain\nc\td\n") ==
          "aaaaaaaaaaaaaaaa   b\n"
          "plain\n"
          "c         d\n");
    // widths count characters, not bytes
    CHECK(format::tabwrite("é\tx\nab\ty\n") == "é         x\nab        y\n");
    // a cell column that only some lines have forms its own block
    CHECK(format::tabwrite("a\tb\tc\nd\te\n") == "a         b         c\nd         e\n");
    CHECK(format::tabwrite("no newline") == "no newline");
}

TEST_CASE("format_rows: Docker's --format conventions") {
    format::Listing l;
    l.default_table = "table {{.ID}}\\t{{.Name}}";
    l.headers = {{"ID", "CONTAINER ID"}, {"Name", "NAMES"}};
    std::vector<json> rows = {{{"ID", "abc"}, {"Name", "web"}}, {{"ID", "def"}, {"Name", "db"}}};
    CHECK(format::format_rows("", l, rows) == "CONTAINER ID   NAMES\nabc            web\ndef            db\n");
    CHECK(format::format_rows("table", l, rows) == format::format_rows("", l, rows));
    CHECK(format::format_rows("{{.Name}}", l, rows) == "web\ndb\n");
    CHECK(format::format_rows("{{.ID}}\\t{{.Name}}", l, rows) == "abc\tweb\ndef\tdb\n");  // no table: not aligned
    CHECK(format::format_rows("table {{.Name}}", l, rows) == "NAMES\nweb\ndb\n");
    CHECK(format::format_rows("{{json .}}", l, rows) == "{\"ID\":\"abc\",\"Name\":\"web\"}\n{\"ID\":\"def\",\"Name\":\"db\"}\n");
    CHECK(format::format_rows("table {{.ID}}\t{{.Name}}", l, {}) == "CONTAINER ID   NAMES\n");  // header even when empty
    CHECK(format::format_value("{{.Name}}", rows[0]) == "web\n");
    CHECK_THROWS_WITH_AS(format::format_rows("{{.Name", l, rows), "template: :1: unclosed action", Error);
}
