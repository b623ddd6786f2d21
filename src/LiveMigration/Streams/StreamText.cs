using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace LiveMigration.Streams;

/// <summary>
/// Makes a string that came from a stream (an idstr, a block or disk name, a machine type, a name in the
/// VMDESCRIPTION trailer) safe to put in an exception message, a log line or a terminal: a sender chooses
/// those bytes, and an ESC sequence or a bidi override in them would rewrite what an operator sees.
/// </summary>
/// <remarks>
/// Control characters become <c>\xHH</c>; format characters (bidi overrides and isolates, zero-width
/// characters), line and paragraph separators, spaces other than U+0020, private-use and unassigned
/// code points and lone surrogates become <c>\uXXXX</c> or <c>\U00XXXXXX</c>; a backslash becomes
/// <c>\\</c>, so an escape in the output always means one was made. Everything else, including
/// non-ASCII letters, is kept. A string that needs nothing is returned as it is, without allocating.
/// <see cref="JsonEncoder"/> does the same for JSON, where such characters become <c>\uXXXX</c>.
/// </remarks>
internal static class StreamText
{
    /// <summary>
    /// A JSON encoder that keeps names readable (letters of any script stay as they are) but writes every
    /// character <see cref="Escape"/> would escape as <c>\uXXXX</c>. The relaxed encoder leaves bidi
    /// overrides and other format characters raw, so JSON that goes to a terminal uses this one.
    /// </summary>
    public static JavaScriptEncoder JsonEncoder { get; } = CreateJsonEncoder();

    /// <summary>Returns <paramref name="value"/> with every character a terminal could act on shown as an escape.</summary>
    public static string Escape(string? value)
    {
        if (value is null)
            return "";
        int first = FirstUnsafe(value);
        if (first < 0)
            return value;

        var text = new StringBuilder(value.Length + 16);
        text.Append(value, 0, first);
        for (int i = first; i < value.Length;)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(i), out Rune rune, out int used) != System.Buffers.OperationStatus.Done)
            {
                // A lone surrogate: no code point, so its code unit is shown.
                text.Append(CultureInfo.InvariantCulture, $"\\u{(int)value[i]:x4}");
                i++;
                continue;
            }

            AppendRune(text, rune);
            i += used;
        }

        return text.ToString();
    }

    private static JavaScriptEncoder CreateJsonEncoder()
    {
        var settings = new TextEncoderSettings(UnicodeRanges.All);
        for (int c = 0; c <= char.MaxValue; c++)
        {
            if (char.IsSurrogate((char)c) || (c != ' ' && IsUnsafe(new Rune(c))))
                settings.ForbidCharacter((char)c);
        }

        return JavaScriptEncoder.Create(settings);
    }

    private static int FirstUnsafe(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            // Printable ASCII but the backslash is the common case and needs no look-up.
            if (c is >= ' ' and <= '~' && c != '\\')
                continue;
            if (char.IsSurrogate(c) || c == '\\' || IsUnsafe(new Rune(c)))
                return i;
        }

        return -1;
    }

    private static void AppendRune(StringBuilder text, Rune rune)
    {
        if (rune.Value == '\\')
            text.Append("\\\\");
        else if (!IsUnsafe(rune))
            text.Append(rune.ToString());
        else if (rune.Value < 0x100)
            text.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}");
        else if (rune.IsBmp)
            text.Append(CultureInfo.InvariantCulture, $"\\u{rune.Value:x4}");
        else
            text.Append(CultureInfo.InvariantCulture, $"\\U{rune.Value:x8}");
    }

    private static bool IsUnsafe(Rune rune)
    {
        if (rune.Value == ' ')
            return false;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }
}
