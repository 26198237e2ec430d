// Command fakecodex stands in for `codex login` in tests: it prints the
// login URL (or, with --device-auth, a one-time code), waits for the user
// to press Enter once they "finished in the browser", and writes auth.json
// into $CODEX_HOME (else ~/.codex), 0600, as codex does with
// cli_auth_credentials_store = "file".
//
// FAKE_AUTH_JSON is the file's content. FAKE_MODE: "" (normal), "keyring"
// (write nothing, as codex does when it keeps the login in a keyring),
// "fail" (exit 1).
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "login" {
		fmt.Fprintln(os.Stderr, "usage: codex login [--device-auth]")
		os.Exit(2)
	}
	device := len(os.Args) > 2 && os.Args[2] == "--device-auth"
	if device {
		fmt.Print("Follow these steps to sign in with ChatGPT using device code authorization:\n\n")
		fmt.Print("1. Open this link in your browser and sign in\n   \x1b[94mhttps://auth.openai.com/codex/device\x1b[0m\n\n")
		fmt.Print("2. Enter this one-time code \x1b[90m(expires in 15 minutes)\x1b[0m\n   \x1b[94mFAKE-1234\x1b[0m\n\n")
	} else {
		fmt.Print("Starting local login server on http://localhost:1455.\n")
		fmt.Print("If your browser did not open, navigate to this URL to authenticate:\n\nhttps://auth.openai.com/oauth/authorize?response_type=code&client_id=fake\n\n")
	}
	fmt.Print("Press Enter when you are done > ")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		os.Exit(1)
	}
	switch os.Getenv("FAKE_MODE") {
	case "fail":
		fmt.Print("Error logging in: fake failure\n")
		os.Exit(1)
	case "keyring":
		fmt.Print("Successfully logged in\n")
		return
	}
	dir := os.Getenv("CODEX_HOME")
	if dir == "" {
		dir = filepath.Join(os.Getenv("HOME"), ".codex")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(dir, "auth.json"), []byte(os.Getenv("FAKE_AUTH_JSON")), 0o600); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Print("Successfully logged in\n")
}
