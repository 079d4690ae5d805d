// faultproxy: a fault-injecting HTTPS reverse proxy between `ksiss run` and
// the kube-apiserver, for the fault e2e suite (tests/e2e/faults.sh). Test
// tooling only. It terminates TLS with a certificate the client's kubeconfig
// trusts (signed by the local cluster's CA) and forwards every request, its
// Authorization header included, to the real apiserver over TLS with
// verification on (the cluster CA). What it does to requests is read at run
// time from a control file (re-read every 100 ms), one key=value a line:
//
//	error=503          answer this HTTP status (5xx) instead of forwarding...
//	error_share=100    ...for this percentage of requests (0-100, default 100)
//	delay_ms=35000     hold every request this long before forwarding it
//	watch=cut          open watch streams are cut now (connection reset), and
//	                   every new one after watch_cut_ms (default 1000) of streaming
//	watch=gone         open watch streams are cut now, and watch requests get
//	                   410 Gone (Status reason Expired)
//	watch=gone-event   the same, but 200 and one ERROR event, code 410
//	conflict=1         PATCH and PUT get 409 Conflict...
//	conflict_path=S    ...only those whose path contains S (default: all)
//
// An empty or missing file means pass-through. Every injected fault is
// logged on stderr as "fault=KIND METHOD PATH", so the test can count them.
//
// Usage: faultproxy -listen 127.0.0.1:0 -port-file F -upstream https://127.0.0.1:6443
//
//	-ca CA.crt -cert proxy.crt -key proxy.key -control CONTROL_FILE
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type settings struct {
	errCode     int
	errShare    int
	delay       time.Duration
	watch       string
	watchCutAft time.Duration
	conflict    bool
	conflictIn  string
}

var (
	cur      atomic.Pointer[settings]
	cutGen   atomic.Int64 // bumped when watch=cut is (re)entered: open streams end
	upstream *url.URL
	client   *http.Client
	logMu    sync.Mutex
)

func logf(format string, a ...any) {
	logMu.Lock()
	defer logMu.Unlock()
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, a...))
}

func parse(text string) *settings {
	s := &settings{errShare: 100, watchCutAft: time.Second}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSpace(v))
		switch strings.TrimSpace(k) {
		case "error":
			s.errCode = n
		case "error_share":
			s.errShare = n
		case "delay_ms":
			s.delay = time.Duration(n) * time.Millisecond
		case "watch":
			s.watch = strings.TrimSpace(v)
		case "watch_cut_ms":
			s.watchCutAft = time.Duration(n) * time.Millisecond
		case "conflict":
			s.conflict = n != 0
		case "conflict_path":
			s.conflictIn = strings.TrimSpace(v)
		}
	}
	return s
}

func watchControl(path string) {
	last := "\x00"
	for {
		b, _ := os.ReadFile(path)
		if text := string(b); text != last {
			s := parse(text)
			prev := cur.Load()
			// Entering cut, gone or gone-event ends the watch streams
			// open now, so the clients' next watch requests meet the fault.
			if s.watch != "" && (prev == nil || prev.watch != s.watch) {
				cutGen.Add(1)
			}
			cur.Store(s)
			logf("control: error=%d share=%d%% delay=%s watch=%q conflict=%v conflict_path=%q", s.errCode, s.errShare,
				s.delay, s.watch, s.conflict, s.conflictIn)
			last = text
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func isWatch(r *http.Request) bool {
	w := r.URL.Query().Get("watch")
	return w == "true" || w == "1" || strings.Contains(r.URL.Path, "/watch/")
}

func status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":%q,"reason":%q,"code":%d}`,
		msg, reason, code)
}

var hopByHop = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Transfer-Encoding": true, "Te": true, "Trailer": true, "Upgrade": true}

func handle(w http.ResponseWriter, r *http.Request) {
	s := cur.Load()
	watch := isWatch(r)
	what := r.Method + " " + r.URL.RequestURI()
	if s.delay > 0 {
		logf("fault=delay %s", what)
		select {
		case <-time.After(s.delay):
		case <-r.Context().Done():
			return
		}
		s = cur.Load()
	}
	if s.errCode >= 500 && s.errCode <= 599 && rand.Intn(100) < s.errShare {
		logf("fault=%d %s", s.errCode, what)
		status(w, s.errCode, "InternalError", "injected by faultproxy")
		return
	}
	if s.conflict && (r.Method == http.MethodPatch || r.Method == http.MethodPut) &&
		strings.Contains(r.URL.Path, s.conflictIn) {
		logf("fault=409 %s", what)
		status(w, http.StatusConflict, "Conflict", "Operation cannot be fulfilled: the object has been modified (injected by faultproxy)")
		return
	}
	if watch && s.watch == "gone" {
		logf("fault=410 %s", what)
		status(w, http.StatusGone, "Expired", "too old resource version (injected by faultproxy)")
		return
	}
	if watch && s.watch == "gone-event" {
		logf("fault=410-event %s", what)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version (injected by faultproxy)","reason":"Expired","code":410}}`+"\n")
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	u := *upstream
	u.Path = r.URL.Path
	u.RawPath = r.URL.RawPath
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(ctx, r.Method, u.String(), r.Body)
	if err != nil {
		status(w, http.StatusBadGateway, "InternalError", err.Error())
		return
	}
	for k, vs := range r.Header {
		if !hopByHop[k] {
			out.Header[k] = vs
		}
	}
	out.ContentLength = r.ContentLength
	resp, err := client.Do(out)
	if err != nil {
		logf("upstream error %s: %v", what, err)
		status(w, http.StatusBadGateway, "InternalError", "faultproxy: upstream: "+err.Error())
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		if !hopByHop[k] {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}

	// A watch may be cut: now (cut entered after it opened) or after
	// watch_cut_ms while watch=cut holds.
	cut := make(chan struct{})
	stopTimer := make(chan struct{})
	defer close(stopTimer)
	if watch {
		gen := cutGen.Load()
		opened := time.Now()
		go func() {
			for {
				select {
				case <-stopTimer:
					return
				case <-time.After(50 * time.Millisecond):
				}
				s := cur.Load()
				if cutGen.Load() != gen || (s.watch == "cut" && time.Since(opened) >= s.watchCutAft) {
					close(cut)
					cancel()
					return
				}
			}
		}()
	}
	buf := make([]byte, 32*1024)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr != nil {
			select {
			case <-cut:
				logf("fault=cut %s", what)
				// Ends the response without a clean end of stream: the
				// client sees a reset connection (HTTP/1.1) or stream (h2).
				panic(http.ErrAbortHandler)
			default:
			}
			return
		}
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to listen on")
	portFile := flag.String("port-file", "", "write the port listened on here")
	up := flag.String("upstream", "", "the kube-apiserver, https://127.0.0.1:PORT")
	ca := flag.String("ca", "", "CA certificate that signed the apiserver's certificate")
	cert := flag.String("cert", "", "this proxy's certificate (PEM)")
	key := flag.String("key", "", "this proxy's key (PEM)")
	control := flag.String("control", "", "control file (see the top of faultproxy.go)")
	flag.Parse()
	if *up == "" || *ca == "" || *cert == "" || *key == "" || *control == "" {
		fmt.Fprintln(os.Stderr, "usage: faultproxy -listen ADDR -port-file F -upstream URL -ca F -cert F -key F -control F")
		os.Exit(2)
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil || !(strings.HasPrefix(host, "127.") || host == "::1") {
		fmt.Fprintln(os.Stderr, "faultproxy: refusing a non-loopback listen address:", *listen)
		os.Exit(2)
	}
	upstream, err = url.Parse(*up)
	if err != nil || upstream.Scheme != "https" || !(strings.HasPrefix(upstream.Hostname(), "127.") || upstream.Hostname() == "::1") {
		fmt.Fprintln(os.Stderr, "faultproxy: the upstream must be https on loopback:", *up)
		os.Exit(2)
	}
	pem, err := os.ReadFile(*ca)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultproxy:", err)
		os.Exit(1)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fmt.Fprintln(os.Stderr, "faultproxy: no certificate in", *ca)
		os.Exit(1)
	}
	client = &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		DisableCompression:  true,
	}}
	cur.Store(parse(""))
	go watchControl(*control)
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultproxy:", err)
		os.Exit(1)
	}
	if *portFile != "" {
		port := l.Addr().(*net.TCPAddr).Port
		if err := os.WriteFile(*portFile+".tmp", []byte(strconv.Itoa(port)+"\n"), 0o644); err == nil {
			os.Rename(*portFile+".tmp", *portFile)
		}
	}
	logf("faultproxy listening on %s, upstream %s", l.Addr(), upstream)
	srv := &http.Server{Handler: http.HandlerFunc(handle), ReadHeaderTimeout: 10 * time.Second}
	err = srv.ServeTLS(l, *cert, *key)
	fmt.Fprintln(os.Stderr, "faultproxy:", err)
	os.Exit(1)
}
