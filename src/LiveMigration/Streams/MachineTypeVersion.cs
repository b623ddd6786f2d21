using System.Globalization;

namespace LiveMigration.Streams;

/// <summary>
/// The QEMU version a machine type names (<c>pc-i440fx-7.2</c> is 7.2): what a stream's layout and its
/// multifd dialect both follow.
/// </summary>
internal static class MachineTypeVersion
{
    /// <summary>Reads the <c>MAJOR.MINOR</c> after the last dash; false for a type that names no version.</summary>
    public static bool TryParse(string machineType, out int major, out int minor)
    {
        major = 0;
        minor = 0;
        int dash = machineType.LastIndexOf('-');
        if (dash < 0)
            return false;
        ReadOnlySpan<char> version = machineType.AsSpan(dash + 1);
        int dot = version.IndexOf('.');
        return dot > 0
            && int.TryParse(version[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out major)
            && int.TryParse(version[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out minor);
    }
}
