// Command fakeclaude stands in for `claude setup-token` in tests: it shows
// a sign-in URL, reads the code the user pastes at its prompt, and prints
// the token coloured and wrapped at its terminal's width, as the real one
// does, followed by the advice the real one prints.
//
// FAKE_TOKEN is the token to print; FAKE_CODE the code it expects.
// FAKE_MODE: "" (normal), "notoken" (no token, exit 0), "fail" (exit 1),
// "hang" (never finish after the code), "winch" (wait for a window size
// change and print at the new width), "redraw" (print the frame twice,
// the first one erased with cursor moves, as Ink does).
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] != "setup-token" {
		fmt.Fprintln(os.Stderr, "usage: claude setup-token")
		os.Exit(2)
	}
	mode := os.Getenv("FAKE_MODE")
	width, _, err := term.GetSize(1)
	if err != nil || width <= 0 {
		width = 80
	}
	fmt.Print("\x1b[?25l\x1b[1mWelcome to Claude Code\x1b[22m\n\n")
	fmt.Print("Browser didn't open? Use the url below to sign in:\n\n")
	fmt.Print("\x1b]8;;https://claude.ai/oauth/authorize?code=true\x07https://claude.ai/oauth/authorize?code=true&client_id=fake\x1b]8;;\x07\n\n")
	fmt.Print("Paste code here if prompted > ")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		os.Exit(1)
	}
	if strings.TrimSpace(line) != os.Getenv("FAKE_CODE") {
		fmt.Print("\n\x1b[31mOAuth error: Invalid code\x1b[39m\n")
		os.Exit(1)
	}
	switch mode {
	case "winch":
		// Wait for the terminal to be resized, then print at the new width.
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGWINCH)
		fmt.Print("resize me\n")
		<-ch
		width, _, _ = term.GetSize(1)
		fmt.Printf("now %d columns\n", width)
	case "hang":
		fmt.Print("Exchanging code...\n")
		for {
			time.Sleep(time.Hour)
		}
	case "fail":
		fmt.Print("\x1b[31mOAuth error: request failed\x1b[39m\n")
		os.Exit(1)
	case "notoken":
		fmt.Print("\x1b[32m✓\x1b[39m Done, but no token today.\n")
		return
	}
	frame := tokenFrame(os.Getenv("FAKE_TOKEN"), width)
	if mode == "redraw" {
		fmt.Print(frame)
		n := strings.Count(frame, "\n")
		for i := 0; i < n; i++ {
			fmt.Print("\x1b[2K\x1b[1A")
		}
		fmt.Print("\x1b[2K\x1b[G")
	}
	fmt.Print(frame)
	fmt.Print("\x1b[?25h")
}

// tokenFrame is the screen after a login: the token in yellow, hard-wrapped
// at width with the colour reopened on every line (as wrap-ansi does), and
// the dim advice after it.
func tokenFrame(tok string, width int) string {
	var b strings.Builder
	b.WriteString("\x1b[32m✓\x1b[39m Long-lived authentication token created successfully!\n\n")
	b.WriteString("Your OAuth token (valid for 1 year):\n\n")
	for len(tok) > width {
		b.WriteString("\x1b[33m" + tok[:width] + "\x1b[39m\n")
		tok = tok[width:]
	}
	b.WriteString("\x1b[33m" + tok + "\x1b[39m\n\n")
	b.WriteString("\x1b[2mStore this token securely. You won't be able to see it again.\x1b[22m\n\n")
	b.WriteString("\x1b[2mUse this token by setting: export CLAUDE_CODE_OAUTH_TOKEN=<token>\x1b[22m\n")
	return b.String()
}
