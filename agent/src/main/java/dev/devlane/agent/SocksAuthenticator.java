package dev.devlane.agent;

import java.lang.instrument.Instrumentation;
import java.net.Authenticator;
import java.net.InetAddress;
import java.net.PasswordAuthentication;
import java.util.function.UnaryOperator;

/**
 * The default Authenticator while the agent runs: the tunnel's credentials for the tunnel's SOCKS
 * requests, every other request to the Authenticator it wraps (the program's own, or none).
 *
 * <p>The credentials are held here, set once by {@link #install} before the program's main runs.
 */
final class SocksAuthenticator extends Authenticator {
  /**
   * The JDK's SOCKS client asks with exactly this protocol name: SocksSocketImpl.authenticate calls
   * requestPasswordAuthentication(proxyHost, proxyAddress, proxyPort, "SOCKS5", "SOCKS
   * authentication", null) (read in Temurin 25's source, seen at work in JDK 17.0.15 and 25 by the
   * tests). SOCKS4 sends no password, so nothing else is a SOCKS request. The requestor type is no
   * help: this call reports SERVER, not PROXY.
   */
  static final String SOCKS5 = "SOCKS5";

  /** Written once in premain, before any program thread can ask; volatile for the threads that read it later. */
  private static volatile TunnelCredentials credentials;

  private final Authenticator delegate;

  private SocksAuthenticator(Authenticator delegate) {
    this.delegate = delegate;
  }

  /**
   * Called once by DevlaneAgent with the value of DEVLANE_PROXY_AUTH: installs the tunnel's
   * answers around whatever Authenticator is there, and around every one the program installs later.
   */
  static void install(Instrumentation inst, String value) {
    TunnelCredentials c = TunnelCredentials.parse(value);
    if (c == null) {
      // The value itself is never printed: it holds the password.
      System.err.println("[devlane-agent] " + DevlaneAgent.ENV + " is not in the expected form; the tunnel's SOCKS credentials are not installed");
      return;
    }
    credentials = c;
    // Whatever was installed before the agent (normally nothing) keeps answering everything else.
    Authenticator.setDefault(adopt(Authenticator.getDefault()));
    AuthenticatorPatch.apply(inst, new Adopter());
  }

  /** A class rather than a method reference: a lambda would start the JDK's lambda machinery (tens of ms) before main. */
  private static final class Adopter implements UnaryOperator<Authenticator> {
    @Override
    public Authenticator apply(Authenticator a) {
      return adopt(a);
    }
  }

  /** Wraps {@code a} (the program's, or null) so the program keeps its answers and the tunnel keeps its. */
  static Authenticator adopt(Authenticator a) {
    return a instanceof SocksAuthenticator ? a : new SocksAuthenticator(a);
  }

  @Override
  protected PasswordAuthentication getPasswordAuthentication() {
    TunnelCredentials c = credentials;
    if (c != null && SOCKS5.equals(getRequestingProtocol()) && isTunnel(c)) {
      return new PasswordAuthentication(c.username, c.password());
    }
    if (delegate == null) return null;
    // The instance method (JDK 9+) lets another Authenticator answer with this request's details.
    return delegate.requestPasswordAuthenticationInstance(
        getRequestingHost(), getRequestingSite(), getRequestingPort(), getRequestingProtocol(),
        getRequestingPrompt(), getRequestingScheme(), getRequestingURL(), getRequestorType());
  }

  /**
   * Only the tunnel's own proxy gets its password: a program may use other SOCKS proxies too. The
   * JDK names the proxy as the program configured it (for Devlane's injection, the same literal
   * address), or by its resolved address when the program spelled it differently ("localhost").
   */
  private boolean isTunnel(TunnelCredentials c) {
    if (getRequestingPort() != c.port) return false;
    String host = getRequestingHost();
    if (host != null && host.equalsIgnoreCase(c.host)) return true;
    InetAddress site = getRequestingSite();
    return site != null && site.getHostAddress().equals(c.host);
  }
}
