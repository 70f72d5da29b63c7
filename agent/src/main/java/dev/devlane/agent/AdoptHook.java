package dev.devlane.agent;

import java.net.Authenticator;
import java.net.NetPermission;
import java.util.function.UnaryOperator;

/**
 * Never used under this name: AuthenticatorPatch defines a renamed copy, java.net.DevlaneAdoptHook,
 * inside java.base, and the patched Authenticator.setDefault calls its {@link #adopt(Authenticator)}.
 * Living in java.net it needs no boot class path (appending to it makes every JVM print a CDS
 * warning and lose class sharing) and no module reads; it reaches the agent only through a JDK
 * interface.
 */
public final class AdoptHook {
  /** Set once by the agent: wraps what the program installs. Null: installed as given. */
  public static volatile UnaryOperator<Authenticator> adopter;

  private AdoptHook() {}

  public static Authenticator adopt(Authenticator a) {
    // The check the JDK's own setDefault makes (JDK 11–17, when a SecurityManager is installed),
    // made here, in java.base, so the stack it checks is the caller's as before.
    @SuppressWarnings("removal")
    SecurityManager sm = System.getSecurityManager();
    if (sm != null) sm.checkPermission(new NetPermission("setDefaultAuthenticator"));
    UnaryOperator<Authenticator> f = adopter;
    return f == null ? a : f.apply(a);
  }
}
