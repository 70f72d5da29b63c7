package dev.devlane.agent;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.lang.invoke.MethodHandles;
import java.net.Authenticator;
import java.nio.ByteBuffer;
import java.security.ProtectionDomain;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Rewrites java.net.Authenticator.setDefault(a) to
 * {@code theAuthenticator = java.net.DevlaneAdoptHook.adopt(a)}, the hook handing {@code a} to the
 * agent to be wrapped.
 *
 * <p>Why: most programs that use an Authenticator install it in main, after the agent ran, and
 * setDefault replaces the previous one outright, so the tunnel's SOCKS answers would be lost and
 * the program's connections through the tunnel refused. Wrapping whatever the program installs
 * keeps both. The JDK offers no hook for this, and the agent has no dependencies (no bytecode
 * library), so the method body is replaced by hand: a straight-line body of four instructions
 * needs no stack map frames, exception table or offset fix-ups, only new constant-pool entries at
 * the end of the pool, which retransformation allows. When a class does not look as expected (no
 * static theAuthenticator field of its own type) it is left alone, and the agent still works for
 * programs that install no Authenticator.
 */
final class AuthenticatorPatch implements ClassFileTransformer {
  private static final String CLASS = "java/net/Authenticator";
  private static final String FIELD = "theAuthenticator";
  private static final String TYPE = "Ljava/net/Authenticator;";
  private static final String TEMPLATE = "dev/devlane/agent/AdoptHook";
  static final String HOOK = "java/net/DevlaneAdoptHook";

  private AuthenticatorPatch() {}

  /** True when setDefault now wraps what it is given with {@code adopter}. */
  static boolean apply(Instrumentation inst, UnaryOperator<Authenticator> adopter) {
    if (!inst.isRetransformClassesSupported()) return false;
    AuthenticatorPatch patch = new AuthenticatorPatch();
    try {
      Class<?> hook = defineInJavaNet(inst, TEMPLATE, HOOK);
      hook.getField("adopter").set(null, adopter);
      // Left registered: if another agent retransforms Authenticator, the JVM replays the
      // transformers on the original bytes, and the patch must come back with it.
      inst.addTransformer(patch, true);
      inst.retransformClasses(Authenticator.class);
      return true;
    } catch (Exception | LinkageError e) {
      inst.removeTransformer(patch);
      System.err.println("[devlane-agent] could not patch Authenticator.setDefault (" + e.getClass().getName() + "); an Authenticator the program installs will replace the tunnel's");
      return false;
    }
  }

  /**
   * A hook class in java.net (there JDK code can call it: java.base reads no other module): the
   * template's bytes renamed to {@code name} and defined in java.net, which the agent opens to itself for that.
   */
  static Class<?> defineInJavaNet(Instrumentation inst, String template, String name) throws Exception {
    Module javaBase = Authenticator.class.getModule();
    inst.redefineModule(javaBase, Set.of(), Map.of(), Map.of("java.net", Set.of(AuthenticatorPatch.class.getModule())), Set.of(), Map.of());
    try {
      // Attached a second time to the same JVM: the hook is already there.
      return Class.forName(name.replace('/', '.'), false, null);
    } catch (ClassNotFoundException absent) {
      byte[] bytes;
      try (InputStream in = AuthenticatorPatch.class.getResourceAsStream("/" + template + ".class")) {
        if (in == null) throw new IOException(template + ".class is not in the agent jar");
        bytes = in.readAllBytes();
      }
      return MethodHandles.privateLookupIn(Authenticator.class, MethodHandles.lookup()).defineClass(ClassFiles.rename(bytes, template, name));
    }
  }

  @Override
  public byte[] transform(Module module, ClassLoader loader, String className, Class<?> redefined, ProtectionDomain domain, byte[] bytes) {
    if (loader != null || !CLASS.equals(className)) return null;
    try {
      return rewrite(bytes);
    } catch (RuntimeException | IOException e) {
      // A class file this code does not understand: unchanged (null) rather than broken.
      return null;
    }
  }

  /** The class with setDefault's body replaced, or null when the class is not as expected. */
  static byte[] rewrite(byte[] bytes) throws IOException {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    int[] at = ClassFiles.pool(in);
    if (at == null) return null;
    int count = at.length;
    int poolEnd = in.position();
    in.getShort(); // access flags
    int thisClass = in.getShort() & 0xFFFF;

    // The field reference setDefault's new body writes: the class's own static field.
    int fieldRef = -1;
    for (int i = 1; i < count; i++) {
      if (at[i] < 0 || bytes[at[i]] != 9) continue;
      ByteBuffer r = ByteBuffer.wrap(bytes, at[i] + 1, 4);
      int cls = r.getShort() & 0xFFFF;
      int nat = r.getShort() & 0xFFFF;
      ByteBuffer n = ByteBuffer.wrap(bytes, at[nat] + 1, 4);
      if (cls == thisClass && ClassFiles.utf8(bytes, at, n.getShort() & 0xFFFF).equals(FIELD) && ClassFiles.utf8(bytes, at, n.getShort() & 0xFFFF).equals(TYPE)) fieldRef = i;
    }
    if (fieldRef < 0) return null;
    // setDefault stays static synchronized: only its Code attribute is replaced.
    int[] code = ClassFiles.codeOf(bytes, at, poolEnd, "setDefault", "(" + TYPE + ")V");
    if (code == null) return null;

    ByteArrayOutputStream buf = new ByteArrayOutputStream(bytes.length + 128);
    DataOutputStream out = new DataOutputStream(buf);
    int adopt = ClassFiles.headerWithMethodRef(out, bytes, count, poolEnd, HOOK, "adopt", "(" + TYPE + ")" + TYPE);
    // Everything up to the old Code attribute of setDefault, the new one, then the rest unchanged.
    out.write(bytes, poolEnd, code[0] - poolEnd);
    byte[] body = {
      0x2a, // aload_0
      (byte) 0xb8, (byte) (adopt >> 8), (byte) adopt, // invokestatic DevlaneAdoptHook.adopt
      (byte) 0xb3, (byte) (fieldRef >> 8), (byte) fieldRef, // putstatic theAuthenticator
      (byte) 0xb1, // return
    };
    out.writeShort(code[2]);
    out.writeInt(2 + 2 + 4 + body.length + 2 + 2);
    out.writeShort(1); // max stack
    out.writeShort(1); // max locals
    out.writeInt(body.length);
    out.write(body);
    out.writeShort(0); // no exception table
    out.writeShort(0); // no attributes: a straight line needs no stack map
    out.write(bytes, code[1], bytes.length - code[1]);
    out.flush();
    return buf.toByteArray();
  }
}
