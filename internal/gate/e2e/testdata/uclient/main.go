// Command uclient is the e2e tests' curl inside the agent's container (the
// image has none): a static Go client that speaks HTTP over the gate's unix
// sockets, as the container's loopback relay will pass it on.
//
//	uclient http SOCK METHOD URL [HEADER: VALUE]...   print "status N" and the body
//	uclient connect SOCK HOST:PORT [PATH]              CONNECT; with PATH, GET it through the tunnel
//	uclient tcp HOST:PORT                               a direct connection: "connected" or exit 1
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: uclient http|connect|tcp ...")
	}
	switch args[0] {
	case "http":
		if len(args) < 4 {
			return fmt.Errorf("usage: uclient http SOCK METHOD URL [HEADER: VALUE]...")
		}
		c, err := dial(args[1])
		if err != nil {
			return err
		}
		req, err := http.NewRequest(args[2], args[3], strings.NewReader("{}"))
		if err != nil {
			return err
		}
		for _, h := range args[4:] {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Add(k, strings.TrimSpace(v))
		}
		if err := req.Write(c); err != nil {
			return err
		}
		return printResponse(bufio.NewReader(c), req)
	case "connect":
		c, err := dial(args[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", args[2], args[2])
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
		if err != nil {
			return err
		}
		fmt.Printf("status %d\n", resp.StatusCode)
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			fmt.Print(string(b))
			return nil
		}
		if len(args) < 4 {
			return nil
		}
		req, _ := http.NewRequest("GET", "http://"+args[2]+args[3], nil)
		req.Close = true
		if err := req.Write(c); err != nil {
			return err
		}
		fmt.Print("tunnel ")
		return printResponse(br, req)
	case "tcp":
		c, err := net.DialTimeout("tcp", args[1], 5*time.Second)
		if err != nil {
			return err
		}
		c.Close()
		fmt.Println("connected")
		return nil
	}
	return fmt.Errorf("unknown mode %q", args[0])
}

func dial(sock string) (net.Conn, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c, nil
}

func printResponse(br *bufio.Reader, req *http.Request) error {
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fmt.Printf("status %d\n%s", resp.StatusCode, b)
	return nil
}
