package dev.devlane.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.URLDecoder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * Cluster names and NIO for a JVM run with the tunnel on. The SOCKS properties alone cover
 * java.net.Socket given a name (HttpURLConnection, most JDBC drivers), but not a program that looks
 * the name up itself (InetAddress: Kafka, gRPC, Lettuce, Connector/J's failover list) nor
 * SocketChannel, which ignores proxies (java.net.http.HttpClient, Netty, every NIO client). So:
 *
 * <ul>
 *   <li>InetAddress.getAllByName(name) for a name under a cluster domain answers with a stand-in
 *       address from 198.18.0.0/15 (set aside for benchmarks: in no cluster or office network),
 *       one per name, without asking any DNS;
 *   <li>Socket.connect to a stand-in address connects to the name instead, so the JDK's SOCKS
 *       client sends the name and the bastion resolves it;
 *   <li>SocketChannel.connect to a stand-in address (or an unresolved cluster name) connects to a
 *       loopback port in this JVM that carries the connection through the tunnel's SOCKS proxy,
 *       so the channel stays an ordinary channel for selectors and non-blocking code;
 *   <li>Netty's own DNS resolver (DnsNameResolver, Reactor Netty's and so Spring WebClient's
 *       default), which asks the nameservers over UDP and never calls InetAddress, gets the same
 *       stand-in address for a cluster name: it answers IP literals itself;
 *   <li>Netty's native transports (epoll, kqueue) connect in C, out of the agent's reach, so the
 *       agent sets {@code io.netty.transport.noNative=true} unless the program set it itself:
 *       Netty then uses NIO, which the agent routes. Reactor Netty on Linux brings epoll along.
 * </ul>
 *
 * Each loopback port accepts only the channels it was handed out to (their local ports), so other
 * users of the machine cannot reach the cluster through it when the tunnel requires a password.
 */
final class ClusterNames {
  static final String ENV = "DEVLANE_TUNNEL";
  private static final String TEMPLATE = "dev/devlane/agent/NetHook";
  private static final String HOOK = "java/net/DevlaneNetHook";
  private static final String[] DEFAULT_DOMAINS = {"cluster.local", "svc"};
  private static final int CONNECT_TIMEOUT_MS = 20_000;
  private static final String NETTY_RESOLVER = "io/netty/resolver/dns/DnsNameResolver";
  /** Both of DnsNameResolver's entries (4.1 and 4.2): {@code (inetHost, additionals, promise, cache)}. */
  private static final String NETTY_RESOLVE_DESC = "(Ljava/lang/String;[Lio/netty/handler/codec/dns/DnsRecord;Lio/netty/util/concurrent/Promise;Lio/netty/resolver/dns/DnsCache;)V";
  private static final String NO_NATIVE = "io.netty.transport.noNative";

  private final String socksHost;
  private final int socksPort;
  private final String[] domains;
  private final ConcurrentHashMap<String, String> addressOfName = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, String> nameOfAddress = new ConcurrentHashMap<>();
  private final Map<String, Forward> forwards = new HashMap<>();
  private int nextAddress = 1;

  private ClusterNames(String socksHost, int socksPort, String[] domains) {
    this.socksHost = socksHost;
    this.socksPort = socksPort;
    this.domains = domains;
  }

  /** {@code host=…&port=…[&domains=a,b]}: the tunnel's SOCKS endpoint and the cluster's DNS domains. Null when malformed. */
  static ClusterNames parse(String value) {
    String host = null;
    String domains = null;
    int port = -1;
    for (String pair : value.split("&")) {
      int eq = pair.indexOf('=');
      if (eq <= 0) return null;
      String v;
      try {
        v = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        return null;
      }
      switch (pair.substring(0, eq)) {
        case "host": host = v; break;
        case "domains": domains = v; break;
        case "port":
          try {
            port = Integer.parseInt(v);
          } catch (NumberFormatException e) {
            return null;
          }
          break;
        default: break;
      }
    }
    if (host == null || host.isEmpty() || port <= 0 || port > 65535) return null;
    List<String> list = new ArrayList<>();
    if (domains != null) {
      for (String d : domains.split(",")) {
        String n = normalize(d);
        if (!n.isEmpty()) list.add(n);
      }
    }
    return new ClusterNames(host, port, list.isEmpty() ? DEFAULT_DOMAINS : list.toArray(new String[0]));
  }

  /**
   * Installs the hooks; one stderr line (no values) when the JDK's classes are not as expected.
   * Netty's resolver is patched as it loads: at premain no application class has loaded yet.
   */
  static void install(Instrumentation inst, String value) {
    ClusterNames names = parse(value);
    if (names == null) {
      System.err.println("[devlane-agent] " + ENV + " is not in the expected form; cluster names and NIO are not routed through the tunnel");
      return;
    }
    if (!inst.isRetransformClassesSupported()) return;
    Patches patches = new Patches();
    try {
      Class<?> hook = AuthenticatorPatch.defineInJavaNet(inst, TEMPLATE, HOOK);
      hook.getField("hosts").set(null, new Hosts(names));
      hook.getField("sockets").set(null, new Sockets(names));
      hook.getField("channels").set(null, new Channels(names));
      inst.addTransformer(patches, true);
      inst.retransformClasses(InetAddress.class, Socket.class, Class.forName("sun.nio.ch.SocketChannelImpl"));
      if (patches.failed != null) System.err.println("[devlane-agent] " + patches.failed + " is not as expected; it is not routed through the tunnel");
      if (System.getProperty(NO_NATIVE) == null) System.setProperty(NO_NATIVE, "true");
    } catch (Exception | LinkageError e) {
      inst.removeTransformer(patches);
      System.err.println("[devlane-agent] cluster names and NIO are not routed through the tunnel (" + e.getClass().getName() + ")");
    }
  }

  static String normalize(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    while (n.endsWith(".")) n = n.substring(0, n.length() - 1);
    while (n.startsWith(".")) n = n.substring(1);
    return n;
  }

  /** A name under one of the cluster's domains (not the domain itself). */
  boolean isClusterName(String host) {
    String n = normalize(host);
    for (String d : domains) {
      if (n.endsWith("." + d)) return true;
    }
    return false;
  }

  /** The stand-in address of a cluster name, the same one every time. */
  synchronized String addressFor(String name) {
    String n = normalize(name);
    String a = addressOfName.get(n);
    if (a != null) return a;
    // 198.18.0.1 … 198.19.255.254: 131,070 names.
    int i = nextAddress++;
    if (i >= 0x1FFFF) throw new IllegalStateException("out of stand-in addresses");
    a = "198." + (18 + (i >> 16)) + "." + ((i >> 8) & 0xFF) + "." + (i & 0xFF);
    addressOfName.put(n, a);
    nameOfAddress.put(a, n);
    return a;
  }

  /**
   * The cluster name behind an address: a stand-in, or an unresolved cluster name. Null otherwise.
   * Called on every connect in the JVM: an address outside 198.18.0.0/15 is told apart from its
   * bytes, without formatting it or looking it up.
   */
  String nameOf(InetSocketAddress a) {
    if (a.isUnresolved()) return isClusterName(a.getHostString()) ? normalize(a.getHostString()) : null;
    InetAddress ip = a.getAddress();
    if (!(ip instanceof Inet4Address)) return null;
    byte[] b = ip.getAddress();
    if ((b[0] & 0xFF) != 198 || (b[1] & 0xFE) != 18) return null;
    return nameOfAddress.get(ip.getHostAddress());
  }

  private static boolean isLiteral(String host) {
    if (host.indexOf(':') >= 0) return true;
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c != '.' && (c < '0' || c > '9')) return false;
    }
    return true;
  }

  /** Named classes, not lambdas: a lambda would start the JDK's lambda machinery (tens of ms) before main. */
  private static final class Hosts implements UnaryOperator<String> {
    private final ClusterNames names;

    Hosts(ClusterNames names) {
      this.names = names;
    }

    @Override
    public String apply(String host) {
      if (host.isEmpty() || isLiteral(host) || !names.isClusterName(host)) return host;
      return names.addressFor(host);
    }
  }

  private static final class Sockets implements UnaryOperator<SocketAddress> {
    private final ClusterNames names;

    Sockets(ClusterNames names) {
      this.names = names;
    }

    @Override
    public SocketAddress apply(SocketAddress address) {
      if (!(address instanceof InetSocketAddress)) return address;
      InetSocketAddress a = (InetSocketAddress) address;
      if (a.isUnresolved()) return address;
      String name = names.nameOf(a);
      return name == null ? address : InetSocketAddress.createUnresolved(name, a.getPort());
    }
  }

  private static final class Channels implements BiFunction<Object, SocketAddress, SocketAddress> {
    private final ClusterNames names;

    Channels(ClusterNames names) {
      this.names = names;
    }

    @Override
    public SocketAddress apply(Object channel, SocketAddress address) {
      if (!(address instanceof InetSocketAddress) || !(channel instanceof SocketChannel)) return address;
      InetSocketAddress a = (InetSocketAddress) address;
      String name = names.nameOf(a);
      if (name == null) return address;
      try {
        Forward f = names.forward(name, a.getPort());
        SocketChannel ch = (SocketChannel) channel;
        InetSocketAddress local = (InetSocketAddress) ch.getLocalAddress();
        if (local == null) {
          ch.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
          local = (InetSocketAddress) ch.getLocalAddress();
        }
        f.expect(local.getPort());
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), f.port());
      } catch (IOException | RuntimeException e) {
        return address;
      }
    }
  }

  /** The loopback forward for a name and port, made at its first use. */
  synchronized Forward forward(String name, int port) throws IOException {
    String key = name + ":" + port;
    Forward f = forwards.get(key);
    if (f == null) {
      f = new Forward(this, name, port);
      forwards.put(key, f);
    }
    return f;
  }

  /** One cluster name and port: a loopback listener whose connections go through the tunnel's SOCKS proxy. */
  static final class Forward implements Runnable {
    private final ClusterNames names;
    private final String name;
    private final int port;
    private final ServerSocket server;
    private final Set<Integer> expected = ConcurrentHashMap.newKeySet();

    Forward(ClusterNames names, String name, int port) throws IOException {
      this.names = names;
      this.name = name;
      this.port = port;
      this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
      daemon(this, "devlane-tunnel " + name + ":" + port);
    }

    int port() {
      return server.getLocalPort();
    }

    void expect(int localPort) {
      expected.add(localPort);
    }

    @Override
    public void run() {
      for (;;) {
        Socket client;
        try {
          client = server.accept();
        } catch (IOException e) {
          return;
        }
        if (!expected.remove(client.getPort())) {
          // Not a channel of this JVM: another process on the machine.
          closeQuietly(client);
          continue;
        }
        daemon(new Connect(this, client), "devlane-tunnel " + name + ":" + port + " connect");
      }
    }

    void carry(Socket client) {
      Socket up = new Socket(new Proxy(Proxy.Type.SOCKS, new InetSocketAddress(names.socksHost, names.socksPort)));
      try {
        up.connect(InetSocketAddress.createUnresolved(name, port), CONNECT_TIMEOUT_MS);
      } catch (IOException e) {
        // The channel sees the connection end: the closest a connected channel gets to "refused".
        closeQuietly(up);
        closeQuietly(client);
        return;
      }
      AtomicInteger ended = new AtomicInteger();
      daemon(new Copy(up, client, ended), "devlane-tunnel " + name + ":" + port + " in");
      new Copy(client, up, ended).run();
    }
  }

  private static final class Connect implements Runnable {
    private final Forward forward;
    private final Socket client;

    Connect(Forward forward, Socket client) {
      this.forward = forward;
      this.client = client;
    }

    @Override
    public void run() {
      forward.carry(client);
    }
  }

  /**
   * Bytes one way. At the end of its input the other side's output is shut (a half-close: the far
   * side may still answer), and the pair is closed once both ways have ended — not the socket's own
   * stream closed, which would close the whole socket and cut the answer off.
   */
  private static final class Copy implements Runnable {
    private final Socket from;
    private final Socket to;
    private final AtomicInteger ended;

    Copy(Socket from, Socket to, AtomicInteger ended) {
      this.from = from;
      this.to = to;
      this.ended = ended;
    }

    @Override
    public void run() {
      byte[] buf = new byte[64 * 1024];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        for (int n; (n = in.read(buf)) >= 0; ) out.write(buf, 0, n);
        to.shutdownOutput();
        if (ended.incrementAndGet() < 2) return;
      } catch (IOException e) {
        // A reset or a write to a closed peer: nothing more goes either way.
      }
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  /** Threads of the agent never keep the program's JVM from exiting. */
  static void daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
  }

  static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  /** Prefixes the three JDK methods; records (by class name only) one it could not patch. */
  private static final class Patches implements ClassFileTransformer {
    volatile String failed;

    @Override
    public byte[] transform(Module module, ClassLoader loader, String className, Class<?> redefined, ProtectionDomain domain, byte[] bytes) {
      if (className == null) return null;
      if (loader != null) return className.equals(NETTY_RESOLVER) ? nettyResolver(bytes) : null;
      MethodPrefix.Spec spec;
      switch (className) {
        case "java/net/InetAddress":
          spec = new MethodPrefix.Spec("getAllByName", "(Ljava/lang/String;)[Ljava/net/InetAddress;", new int[] {0}, 0, HOOK, "host", "(Ljava/lang/String;)Ljava/lang/String;");
          break;
        case "java/net/Socket":
          spec = new MethodPrefix.Spec("connect", "(Ljava/net/SocketAddress;I)V", new int[] {1}, 1, HOOK, "socket", "(Ljava/net/SocketAddress;)Ljava/net/SocketAddress;");
          break;
        case "sun/nio/ch/SocketChannelImpl":
          spec = new MethodPrefix.Spec("connect", "(Ljava/net/SocketAddress;)Z", new int[] {0, 1}, 1, HOOK, "channel", "(Ljava/lang/Object;Ljava/net/SocketAddress;)Ljava/net/SocketAddress;");
          break;
        default:
          return null;
      }
      try {
        byte[] patched = MethodPrefix.apply(bytes, spec);
        if (patched == null) failed = className.replace('/', '.') + "." + spec.name;
        return patched;
      } catch (IOException | RuntimeException e) {
        failed = className.replace('/', '.') + "." + spec.name;
        return null;
      }
    }

    /**
     * {@code inetHost = DevlaneNetHook.host(inetHost)} in front of doResolve and doResolveAll, in
     * whichever class loader (and however many) Netty comes. A Netty whose methods differ keeps
     * its own resolution, said once on stderr, as for the JDK's classes.
     */
    private static byte[] nettyResolver(byte[] bytes) {
      byte[] out = bytes;
      for (String method : new String[] {"doResolve", "doResolveAll"}) {
        byte[] patched;
        try {
          patched = MethodPrefix.apply(out, new MethodPrefix.Spec(method, NETTY_RESOLVE_DESC, new int[] {1}, 1, HOOK, "host", "(Ljava/lang/String;)Ljava/lang/String;"));
        } catch (IOException | RuntimeException e) {
          patched = null;
        }
        if (patched == null) {
          System.err.println("[devlane-agent] " + NETTY_RESOLVER.replace('/', '.') + "." + method + " is not as expected; names it resolves are not routed through the tunnel");
          return out == bytes ? null : out;
        }
        out = patched;
      }
      return out;
    }
  }
}
