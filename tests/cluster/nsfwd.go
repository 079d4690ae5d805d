// nsfwd: forwards TCP connections accepted on a loopback address of the
// current (root) network namespace to a loopback address inside another
// network namespace (the cluster's, which has only `lo`). This lets the
// K-SISS C client and kubectl reach the kube-apiserver from the root
// namespace while every cluster process stays in a namespace where no fake
// pod IP (10.x) can ever be reached. Built by tests/cluster/build.sh.
//
// Usage: nsfwd LISTEN_ADDR NETNS_PATH TARGET_ADDR
//
//	e.g. nsfwd 127.0.0.1:6443 /var/run/netns/ksiss 127.0.0.1:6443
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
)

// setns(2) is not in package syscall; its number per architecture.
func setnsNr() uintptr {
	switch runtime.GOARCH {
	case "arm64", "riscv64", "loong64":
		return 268
	case "386":
		return 346
	default: // amd64
		return 308
	}
}

func dialInNS(nsPath, addr string) (net.Conn, error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		// This goroutine's thread is moved into the namespace and never
		// unlocked, so Go discards the thread when the goroutine ends.
		runtime.LockOSThread()
		f, err := os.Open(nsPath)
		if err != nil {
			ch <- res{nil, err}
			return
		}
		defer f.Close()
		if _, _, e := syscall.RawSyscall(setnsNr(), f.Fd(), syscall.CLONE_NEWNET, 0); e != 0 {
			ch <- res{nil, fmt.Errorf("setns %s: %v", nsPath, e)}
			return
		}
		c, err := net.Dial("tcp", addr)
		ch <- res{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: nsfwd LISTEN_ADDR NETNS_PATH TARGET_ADDR")
		os.Exit(2)
	}
	listen, nsPath, target := os.Args[1], os.Args[2], os.Args[3]
	host, _, err := net.SplitHostPort(listen)
	if err != nil || !(strings.HasPrefix(host, "127.") || host == "::1" || host == "localhost") {
		fmt.Fprintln(os.Stderr, "nsfwd: refusing to listen on a non-loopback address:", listen)
		os.Exit(2)
	}
	thost, _, err := net.SplitHostPort(target)
	if err != nil || !(strings.HasPrefix(thost, "127.") || thost == "::1" || thost == "localhost") {
		fmt.Fprintln(os.Stderr, "nsfwd: refusing a non-loopback target:", target)
		os.Exit(2)
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsfwd:", err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "nsfwd: accept:", err)
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			u, err := dialInNS(nsPath, target)
			if err != nil {
				fmt.Fprintln(os.Stderr, "nsfwd: dial:", err)
				return
			}
			defer u.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			go func() { io.Copy(c, u); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			<-done
			<-done
		}(c)
	}
}
