package dev.devlane.agent;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Reading and extending class files by hand: the agent has no bytecode library (no dependencies). */
final class ClassFiles {
  private ClassFiles() {}

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

  /**
   * Where the Code attribute of method {@code name + desc} starts and ends in the class file, and its
   * name's constant: {start, end, nameIndex}; null when there is none or more than one.
   */
  static int[] codeOf(byte[] bytes, int[] at, int poolEnd, String name, String desc) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    in.position(poolEnd + 6); // access flags, this class, super class
    int interfaces = in.getShort() & 0xFFFF;
    in.position(in.position() + 2 * interfaces);
    skipMembers(in); // fields
    int methods = in.getShort() & 0xFFFF;
    int[] found = null;
    for (int m = 0; m < methods; m++) {
      in.getShort(); // access flags
      String n = utf8(bytes, at, in.getShort() & 0xFFFF);
      String d = utf8(bytes, at, in.getShort() & 0xFFFF);
      int attributes = in.getShort() & 0xFFFF;
      for (int a = 0; a < attributes; a++) {
        int start = in.position();
        int attrName = in.getShort() & 0xFFFF;
        int length = in.getInt();
        in.position(in.position() + length);
        if (n.equals(name) && d.equals(desc) && utf8(bytes, at, attrName).equals("Code")) {
          if (found != null) return null;
          found = new int[] {start, in.position(), attrName};
        }
      }
    }
    return found;
  }

  /**
   * Writes the class's header and constant pool with six constants added at the end (where
   * retransformation allows new ones): a static method {@code cls.name desc}. Returns the index of
   * its method reference; the caller writes the rest of the class from {@code poolEnd} on.
   */
  static int headerWithMethodRef(DataOutputStream out, byte[] bytes, int count, int poolEnd, String cls, String name, String desc) throws IOException {
    out.write(bytes, 0, 8);
    int next = count;
    out.writeShort(count + 6);
    out.write(bytes, 10, poolEnd - 10);
    int className = next++;
    out.writeByte(1);
    out.writeUTF(cls);
    int classRef = next++;
    out.writeByte(7);
    out.writeShort(className);
    int methodName = next++;
    out.writeByte(1);
    out.writeUTF(name);
    int methodType = next++;
    out.writeByte(1);
    out.writeUTF(desc);
    int nameAndType = next++;
    out.writeByte(12);
    out.writeShort(methodName);
    out.writeShort(methodType);
    int methodRef = next;
    out.writeByte(10);
    out.writeShort(classRef);
    out.writeShort(nameAndType);
    return methodRef;
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
