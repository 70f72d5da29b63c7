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
import java.nio.charset.StandardCharsets;
import java.security.ProtectionDomain;
import java.util.Arrays;
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
      return MethodHandles.privateLookupIn(Authenticator.class, MethodHandles.lookup()).defineClass(rename(bytes, template, name));
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

  /** Where each constant starts (index 0 and the second slot of longs and doubles: -1); the buffer is left after the pool. Null for an unknown tag. */
  static int[] pool(ByteBuffer in) {
    if (in.getInt() != 0xCAFEBABE) return null;
    in.getShort(); // minor
    in.getShort(); // major
    int[] at = new int[in.getShort() & 0xFFFF];
    Arrays.fill(at, -1);
    for (int i = 1; i < at.length; i++) {
      at[i] = in.position();
      int tag = in.get() & 0xFF;
      int size;
      switch (tag) {
        case 1: size = 2 + (in.getShort(in.position()) & 0xFFFF); break;
        case 3: case 4: case 9: case 10: case 11: case 12: case 17: case 18: size = 4; break;
        case 5: case 6: size = 8; i++; break;
        case 7: case 8: case 16: case 19: case 20: size = 2; break;
        case 15: size = 3; break;
        default: return null;
      }
      in.position(in.position() + size);
    }
    return at;
  }

  /** The class with every constant naming {@code from} naming {@code to}: enough for a class that refers to itself only by name. */
  static byte[] rename(byte[] bytes, String from, String to) throws IOException {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    int[] at = pool(in);
    if (at == null) throw new IOException("not a class file");
    ByteArrayOutputStream buf = new ByteArrayOutputStream(bytes.length + 32);
    DataOutputStream out = new DataOutputStream(buf);
    out.write(bytes, 0, at[1]);
    for (int i = 1; i < at.length; i++) {
      if (at[i] < 0) continue;
      int end = in.position();
      for (int j = i + 1; j < at.length; j++) {
        if (at[j] >= 0) {
          end = at[j];
          break;
        }
      }
      if (bytes[at[i]] == 1 && utf8(bytes, at, i).equals(from)) {
        out.writeByte(1);
        out.writeUTF(to);
      } else {
        out.write(bytes, at[i], end - at[i]);
      }
    }
    out.write(bytes, in.position(), bytes.length - in.position());
    return buf.toByteArray();
  }

  /** The class with setDefault's body replaced, or null when the class is not as expected. */
  static byte[] rewrite(byte[] bytes) throws IOException {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    int[] at = pool(in);
    if (at == null) return null;
    int count = at.length;
    int poolEnd = in.position();
    in.getShort(); // access flags
    int thisClass = in.getShort() & 0xFFFF;
    in.getShort(); // super class

    // The field reference setDefault's new body writes: the class's own static field.
    int fieldRef = -1;
    for (int i = 1; i < count; i++) {
      if (at[i] < 0 || bytes[at[i]] != 9) continue;
      ByteBuffer r = ByteBuffer.wrap(bytes, at[i] + 1, 4);
      int cls = r.getShort() & 0xFFFF;
      int nat = r.getShort() & 0xFFFF;
      ByteBuffer n = ByteBuffer.wrap(bytes, at[nat] + 1, 4);
      if (cls == thisClass && utf8(bytes, at, n.getShort() & 0xFFFF).equals(FIELD) && utf8(bytes, at, n.getShort() & 0xFFFF).equals(TYPE)) fieldRef = i;
    }
    if (fieldRef < 0) return null;

    int interfaces = in.getShort() & 0xFFFF;
    in.position(in.position() + 2 * interfaces);
    skipMembers(in); // fields
    int methods = in.getShort() & 0xFFFF;
    int codeStart = -1;
    int codeEnd = -1;
    int codeName = -1;
    for (int m = 0; m < methods; m++) {
      in.getShort(); // access flags (static synchronized stays as it is)
      String name = utf8(bytes, at, in.getShort() & 0xFFFF);
      String desc = utf8(bytes, at, in.getShort() & 0xFFFF);
      int attributes = in.getShort() & 0xFFFF;
      for (int a = 0; a < attributes; a++) {
        int start = in.position();
        int attrName = in.getShort() & 0xFFFF;
        int length = in.getInt();
        in.position(in.position() + length);
        if (name.equals("setDefault") && desc.equals("(" + TYPE + ")V") && utf8(bytes, at, attrName).equals("Code")) {
          codeStart = start;
          codeEnd = in.position();
          codeName = attrName;
        }
      }
    }
    if (codeStart < 0) return null;

    ByteArrayOutputStream buf = new ByteArrayOutputStream(bytes.length + 128);
    DataOutputStream out = new DataOutputStream(buf);
    out.write(bytes, 0, 8);
    // The pool grows by six entries: the hook's class and method reference.
    int next = count;
    out.writeShort(count + 6);
    out.write(bytes, 10, poolEnd - 10);
    int hookName = next++;
    out.writeByte(1);
    out.writeUTF(HOOK);
    int hookClass = next++;
    out.writeByte(7);
    out.writeShort(hookName);
    int adoptName = next++;
    out.writeByte(1);
    out.writeUTF("adopt");
    int adoptType = next++;
    out.writeByte(1);
    out.writeUTF("(" + TYPE + ")" + TYPE);
    int nameAndType = next++;
    out.writeByte(12);
    out.writeShort(adoptName);
    out.writeShort(adoptType);
    int adopt = next++;
    out.writeByte(10);
    out.writeShort(hookClass);
    out.writeShort(nameAndType);
    // Everything up to the old Code attribute of setDefault, the new one, then the rest unchanged.
    out.write(bytes, poolEnd, codeStart - poolEnd);
    byte[] code = {
      0x2a, // aload_0
      (byte) 0xb8, (byte) (adopt >> 8), (byte) adopt, // invokestatic DevlaneAdoptHook.adopt
      (byte) 0xb3, (byte) (fieldRef >> 8), (byte) fieldRef, // putstatic theAuthenticator
      (byte) 0xb1, // return
    };
    out.writeShort(codeName);
    out.writeInt(2 + 2 + 4 + code.length + 2 + 2);
    out.writeShort(1); // max stack
    out.writeShort(1); // max locals
    out.writeInt(code.length);
    out.write(code);
    out.writeShort(0); // no exception table
    out.writeShort(0); // no attributes: a straight line needs no stack map
    out.write(bytes, codeEnd, bytes.length - codeEnd);
    out.flush();
    return buf.toByteArray();
  }

  static void skipMembers(ByteBuffer in) {
    int members = in.getShort() & 0xFFFF;
    for (int m = 0; m < members; m++) {
      in.position(in.position() + 6);
      int attributes = in.getShort() & 0xFFFF;
      for (int a = 0; a < attributes; a++) {
        in.getShort();
        int length = in.getInt();
        in.position(in.position() + length);
      }
    }
  }

  /** Names in these class files are ASCII, where modified UTF-8 and UTF-8 agree. */
  static String utf8(byte[] bytes, int[] at, int index) {
    if (index <= 0 || index >= at.length || at[index] < 0 || bytes[at[index]] != 1) return "";
    int length = ((bytes[at[index] + 1] & 0xFF) << 8) | (bytes[at[index] + 2] & 0xFF);
    return new String(bytes, at[index] + 3, length, StandardCharsets.UTF_8);
  }
}
