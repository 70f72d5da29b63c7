package dev.devlane.agent;

import java.net.SocketAddress;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * Never used under this name: ClusterNames defines a renamed copy, java.net.DevlaneNetHook, inside
 * java.base, and the patched JDK methods call it first thing (see MethodPrefix). It reaches the agent
 * only through JDK interfaces, and whatever goes wrong in the agent, the JDK method goes on with its
 * argument as given.
 */
public final class NetHook {
  /** InetAddress.getAllByName(host): a cluster name becomes the literal of its stand-in address. */
  public static volatile UnaryOperator<String> hosts;
  /** Socket.connect(address, timeout): a stand-in address becomes the unresolved cluster name (SOCKS sends names). */
  public static volatile UnaryOperator<SocketAddress> sockets;
  /** SocketChannelImpl.connect(address): a cluster address becomes a loopback forward through the tunnel. */
  public static volatile BiFunction<Object, SocketAddress, SocketAddress> channels;

  private NetHook() {}

  public static String host(String host) {
    UnaryOperator<String> f = hosts;
    if (f == null || host == null) return host;
    try {
      return f.apply(host);
    } catch (Throwable e) {
      return host;
    }
  }

  public static SocketAddress socket(SocketAddress address) {
    UnaryOperator<SocketAddress> f = sockets;
    if (f == null || address == null) return address;
    try {
      return f.apply(address);
    } catch (Throwable e) {
      return address;
    }
  }

  public static SocketAddress channel(Object channel, SocketAddress address) {
    BiFunction<Object, SocketAddress, SocketAddress> f = channels;
    if (f == null || address == null) return address;
    try {
      return f.apply(channel, address);
    } catch (Throwable e) {
      return address;
    }
  }
}
