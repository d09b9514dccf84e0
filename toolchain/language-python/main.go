// Command pulumi-language-python is this project's own Pulumi language host for
// Python programs.
//
// The upstream host (module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3)
// is not available from the Go module proxy this project builds from, so this is a
// small, independent implementation of pulumirpc.LanguageRuntimeServer that covers
// what `pulumi preview/up/refresh/destroy/stack/config/about/install` need:
//
//   - it runs the program with the project's interpreter (Pulumi.yaml
//     runtime.options.virtualenv, else an activated $VIRTUAL_ENV, else
//     $PULUMI_PYTHON_CMD, else python3/python on PATH),
//   - it hands the engine's settings to the Python SDK through a small embedded
//     bootstrap (bootstrap.py) that configures pulumi.runtime and runs the program,
//   - it reports the resource plugins of installed Pulumi packages
//     (<package>/pulumi-plugin.json) so the engine can load them up front.
//
// Protocol: the engine starts the host as `pulumi-language-python [flags] <engine-address>`,
// reads the port of our gRPC server from the first line of stdout, and forwards everything
// we (and the Python program) print afterwards to its diagnostics stream.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is stamped at build time by scripts/toolchain (-X main.version=...).
var version = "0.0.0-dev"

// hostArgs are the command-line arguments the engine passes to a language plugin.
type hostArgs struct {
	engineAddress string
	tracing       string
	// Legacy flags some engines pass; a Pulumi.yaml runtime option takes precedence.
	virtualenv string
	root       string
}

// parseArgs accepts the flags the engine may prepend (--logtostderr, -v=N, --logflow,
// --tracing X, and the legacy --virtualenv/--root/--use-executor) in both `-f v` and
// `-f=v` spellings, ignores unknown flags, and takes the last positional argument as
// the engine's address.
func parseArgs(argv []string) hostArgs {
	var a hostArgs
	withValue := map[string]*string{
		"tracing":      &a.tracing,
		"virtualenv":   &a.virtualenv,
		"root":         &a.root,
		"use-executor": new(string),
	}
	var positional []string
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" {
			positional = append(positional, argv[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			positional = append(positional, arg)
			continue
		}
		name := strings.TrimLeft(arg, "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		dst, takesValue := withValue[name]
		if !takesValue {
			continue // boolean or unknown flag (logtostderr, logflow, v=N, ...)
		}
		if !hasValue && i+1 < len(argv) {
			i++
			value = argv[i]
		}
		*dst = value
	}
	if len(positional) > 0 {
		a.engineAddress = positional[len(positional)-1]
	}
	return a
}

func main() {
	args := parseArgs(os.Args[1:])
	cwd, err := os.Getwd()
	if err != nil {
		fatalf("cannot determine working directory: %v", err)
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatalf("cannot listen: %v", err)
	}
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(400*1024*1024),
		grpc.MaxSendMsgSize(400*1024*1024),
	)
	host := newHost(args, cwd)
	pulumirpc.RegisterLanguageRuntimeServer(srv, host)

	// The engine waits for exactly one line with our port before it dials us.
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)

	// The engine stops a plugin by killing it; on a polite signal, stop the program too.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		host.cancelAll()
		srv.Stop()
	}()

	if err := srv.Serve(lis); err != nil {
		fatalf("language host stopped serving: %v", err)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: "+format+"\n", a...)
	os.Exit(1)
}
