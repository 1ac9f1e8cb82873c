#pragma once
// The terminal side of `run -it` and `exec -it`: the OCI console socket the runtime
// hands the pty master to, raw mode on our own terminal while attached, and the socket's
// path (sun_path is short).
#include <termios.h>

#include <string>

#include "minirun/common/fs.hpp"

namespace minirun::engine {

struct ConsoleListener {
    fs::UniqueFd sock;
    std::string path;
    explicit ConsoleListener(const std::string& p);
    ~ConsoleListener();
    ConsoleListener(const ConsoleListener&) = delete;
    ConsoleListener& operator=(const ConsoleListener&) = delete;
    // Waits for the runtime to connect and returns the pty master it sends. With
    // `stop_fd` >= 0, gives up (returns -1) once that fd becomes readable.
    int take_master(int stop_fd = -1);
};

// Raw mode on our terminal while attached to a container's pty; restored on destruction.
struct RawTerminal {
    termios saved{};
    bool active = false;
    RawTerminal();
    ~RawTerminal();
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;
};

// A console socket path in a container directory (below it when short enough).
std::string console_path(const std::string& dir, const std::string& name = "console.sock");

// Copies our terminal's size to the pty `master`.
void copy_window_size(int master);

// `exec -it`: takes the pty master from `console`, puts our terminal in raw mode and
// carries the pty's output to stdout (and stdin to it when `forward_stdin`), following
// our window size, until the pty closes or `stop_fd` turns readable (the process has
// exited: what is left in the pty is drained first). Runs on its own thread.
void relay_terminal(ConsoleListener& console, int stop_fd, bool forward_stdin);

}  // namespace minirun::engine
