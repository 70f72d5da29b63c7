package dev.devlane.agent;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The tunnel's SOCKS endpoint and credentials, from {@code DEVLANE_PROXY_AUTH}:
 * {@code host=…&port=…&username=…&password=…}, each value percent-encoded (what Devlane writes with
 * URLSearchParams). A form the JDK decodes itself, so the agent needs no JSON parser; the endpoint
 * travels with the credentials so they are given to that proxy only, whatever else the program
 * connects to.
 */
final class TunnelCredentials {
  final String host;
  final int port;
  final String username;
  private final char[] password;

  private TunnelCredentials(String host, int port, String username, char[] password) {
    this.host = host;
    this.port = port;
    this.username = username;
    this.password = password;
  }

  /** A fresh copy each time: the JDK may clear the array it is handed. */
  char[] password() {
    return password.clone();
  }

  /** Null when a field is missing or malformed. */
  static TunnelCredentials parse(String value) {
    Map<String, String> fields = new HashMap<>();
    for (String pair : value.split("&")) {
      int eq = pair.indexOf('=');
      if (eq <= 0) return null;
      try {
        fields.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    String host = fields.get("host");
    String port = fields.get("port");
    String username = fields.get("username");
    String password = fields.get("password");
    if (host == null || host.isEmpty() || port == null || username == null || username.isEmpty() || password == null) return null;
    int p;
    try {
      p = Integer.parseInt(port);
    } catch (NumberFormatException e) {
      return null;
    }
    if (p <= 0 || p > 65535) return null;
    return new TunnelCredentials(host, p, username, password.toCharArray());
  }

  /** Deliberately without the credentials: nothing that prints this object can leak them. */
  @Override
  public String toString() {
    return "SOCKS " + host + ":" + port;
  }
}
