package dev.devlane.agent;

import java.lang.instrument.Instrumentation;

/**
 * Lets a JVM started by Devlane reach the cluster through the tunnel: names under the cluster's
 * domains and NIO channels (ClusterNames, from {@code DEVLANE_TUNNEL}), and the tunnel's SOCKS5
 * username/password request when it has one.
 *
 * <p>The JDK's SOCKS client sends credentials only from the default {@link java.net.Authenticator}
 * (it ignores -Djava.net.socks.username/password and otherwise sends user.name with no password),
 * so the agent installs one (SocksAuthenticator) that answers only the tunnel's SOCKS requests and
 * hands every other request to the program's own Authenticator, also when the program installs
 * its own later (AuthenticatorPatch).
 *
 * <p>The credentials come from the environment variable {@code DEVLANE_PROXY_AUTH}, never from
 * system properties or agent options: those show in {@code ps} and {@code jcmd VM.system_properties}
 * to other users, while a process's environment is readable only by its own user. Without the
 * variable the agent does nothing at all.
 */
public final class DevlaneAgent {
  static final String ENV = "DEVLANE_PROXY_AUTH";

  private DevlaneAgent() {}

  /**
   * Started with {@code -javaagent}, the only way Devlane runs it. There is no agentmain: its settings
   * come from the environment Devlane gives the JVM it starts, which a JVM attached to later lacks.
   */
  public static void premain(String options, Instrumentation inst) {
    String tunnel = System.getenv(ClusterNames.ENV);
    if (tunnel != null && !tunnel.isEmpty()) {
      try {
        ClusterNames.install(inst, tunnel);
      } catch (Throwable e) {
        System.err.println("[devlane-agent] cluster names and NIO are not routed through the tunnel (" + e.getClass().getName() + ")");
      }
    }
    String value = System.getenv(ENV);
    if (value == null || value.isEmpty()) return;
    try {
      SocksAuthenticator.install(inst, value);
    } catch (Throwable e) {
      // An agent must never stop the program it rides in. The value itself is never printed: it holds the password.
      System.err.println("[devlane-agent] the tunnel's SOCKS credentials are not installed (" + e.getClass().getName() + ")");
    }
  }
}
